rule train_classifier:
    output:
        model="results/{dataset}/classifier/model.pt",
    input:
        data="results/{dataset}/data/classifier.npz",
        baseline="results/{dataset}/baseline/model.pt",
        code=code("classifier", "flows", "training", "io"),
    log:
        "logs/train_classifier/{dataset}.log",
    benchmark:
        "benchmarks/train_classifier/{dataset}.tsv"
    params:
        settings=settings("classifier"),
        dtype=config["dtype"],
        seed=seed("train_classifier"),
    threads: 2
    conda:
        "../envs/laser.yaml"
    script:
        "../scripts/train_classifier.py"


rule compute_weights:
    output:
        samples="results/{dataset}/dctr/samples.npz",
    input:
        samples="results/{dataset}/baseline/samples.npz",
        classifier="results/{dataset}/classifier/model.pt",
        code=code("classifier", "io"),
    log:
        "logs/compute_weights/{dataset}.log",
    benchmark:
        "benchmarks/compute_weights/{dataset}.tsv"
    params:
        dtype=config["dtype"],
    threads: 2
    conda:
        "../envs/laser.yaml"
    script:
        "../scripts/compute_weights.py"
