rule train_refiner:
    output:
        model="results/{dataset}/laser/refiner.pt",
    input:
        samples="results/{dataset}/dctr/samples.npz",
        code=code("gan", "training", "io"),
    log:
        "logs/train_refiner/{dataset}.log",
    benchmark:
        "benchmarks/train_refiner/{dataset}.tsv"
    params:
        settings=settings("refiner"),
        dtype=config["dtype"],
        seed=seed("train_refiner"),
    threads: 2
    conda:
        "../envs/laser.yaml"
    script:
        "../scripts/train_refiner.py"


rule sample_laser:
    output:
        samples="results/{dataset}/laser/samples.npz",
    input:
        refiner="results/{dataset}/laser/refiner.pt",
        baseline="results/{dataset}/baseline/model.pt",
        code=code("gan", "flows", "io"),
    log:
        "logs/sample_laser/{dataset}.log",
    benchmark:
        "benchmarks/sample_laser/{dataset}.tsv"
    params:
        n=config["data"]["n_eval"],
        dtype=config["dtype"],
        seed=seed("sample_laser"),
    threads: 2
    conda:
        "../envs/laser.yaml"
    script:
        "../scripts/sample_laser.py"
