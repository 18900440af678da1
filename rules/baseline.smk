rule train_baseline:
    input:
        train="results/{dataset}/data/train.npz",
        code=code("train_baseline"),
    output:
        model="results/{dataset}/baseline/model.pt",
    log:
        "logs/train_baseline/{dataset}.log",
    benchmark:
        "benchmarks/train_baseline/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("train_baseline"),
        runtime=runtime("train_baseline"),
        gpu=GPUS,
        device=DEVICE,
    params:
        settings=settings("baseline"),
        transforms=transforms,
        dtype=config["dtype"],
        seed=seed("train_baseline"),
    script:
        "../scripts/train_baseline.py"


rule sample_baseline:
    input:
        model="results/{dataset}/baseline/model.pt",
        code=code("sample_baseline"),
    output:
        samples="results/{dataset}/baseline/samples.npz",
    log:
        "logs/sample_baseline/{dataset}.log",
    benchmark:
        "benchmarks/sample_baseline/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        mem_mb=mem_mb("sample_baseline"),
        runtime=runtime("sample_baseline"),
        gpu=GPUS,
        device=DEVICE,
    params:
        n=data_size("n_eval"),
        dtype=config["dtype"],
        seed=seed("sample_baseline"),
    script:
        "../scripts/sample_baseline.py"
