rule train_baseline:
    input:
        train="results/{dataset}/data/train.npz",
        code=generator_code("training", "config", "io"),
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
        mem_mb=mem_mb("train_baseline"),
        runtime=runtime("train_baseline"),
        gpu=GPUS,
    params:
        settings=settings("baseline"),
        dtype=config["dtype"],
        seed=seed("train_baseline"),
    script:
        "../scripts/train_baseline.py"


rule sample_baseline:
    input:
        model="results/{dataset}/baseline/model.pt",
        code=generator_code("io"),
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
    params:
        n=config["data"]["n_eval"],
        dtype=config["dtype"],
        seed=seed("sample_baseline"),
    script:
        "../scripts/sample_baseline.py"
