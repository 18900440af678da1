rule train_refiner:
    input:
        samples="results/{dataset}/dctr/samples.npz",
        # the target q(z) of the flow refiner's reverse-KL term (refiner.reverse_kl)
        baseline="results/{dataset}/baseline/model.pt",
        classifier="results/{dataset}/classifier/model.pt",
        code=code("train_refiner"),
    output:
        model="results/{dataset}/laser/refiner.pt",
    log:
        "logs/train_refiner/{dataset}.log",
    benchmark:
        "benchmarks/train_refiner/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("train_refiner"),
        runtime=runtime("train_refiner"),
        gpu=GPUS,
        device=DEVICE,
    params:
        settings=settings("refiner"),
        # the kind of g whose latent points phi learns (for the pair's caveat)
        generator=generator_kind(1),
        dtype=config["dtype"],
        seed=seed("train_refiner"),
    script:
        "../scripts/train_refiner.py"


rule sample_laser:
    input:
        # the classifier of q(z), with refiner.unweight
        unpack(unweighting),
        baseline="results/{dataset}/baseline/model.pt",
        refiners=["results/{dataset}/laser/refiner.pt"],
        code=code("sample_laser"),
    output:
        samples="results/{dataset}/laser/samples.npz",
    log:
        "logs/sample_laser/{dataset}.log",
    benchmark:
        "benchmarks/sample_laser/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("sample_laser"),
        runtime=runtime("sample_laser"),
        gpu=GPUS,
        device=DEVICE,
    params:
        n=data_size("n_eval"),
        # with refiner.unweight, the rejection section sets its bound M (else None)
        rejection=unweighting_bound,
        dtype=config["dtype"],
        seed=seed("sample_laser"),
    script:
        "../scripts/sample_laser.py"
