rule train_baseline:
    output:
        model="results/{dataset}/baseline/model.pt",
    input:
        train="results/{dataset}/data/train.npz",
        code=code("flows", "training", "io"),
    log:
        "logs/train_baseline/{dataset}.log",
    benchmark:
        "benchmarks/train_baseline/{dataset}.tsv"
    params:
        settings=settings("baseline"),
        dtype=config["dtype"],
        seed=seed("train_baseline"),
    threads: 2
    conda:
        "../envs/laser.yaml"
    script:
        "../scripts/train_baseline.py"


rule sample_baseline:
    output:
        samples="results/{dataset}/baseline/samples.npz",
    input:
        model="results/{dataset}/baseline/model.pt",
        code=code("flows", "io"),
    log:
        "logs/sample_baseline/{dataset}.log",
    benchmark:
        "benchmarks/sample_baseline/{dataset}.tsv"
    params:
        n=config["data"]["n_eval"],
        dtype=config["dtype"],
        seed=seed("sample_baseline"),
    threads: 2
    conda:
        "../envs/laser.yaml"
    script:
        "../scripts/sample_baseline.py"
