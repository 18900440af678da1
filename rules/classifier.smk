rule train_classifier:
    input:
        data="results/{dataset}/data/classifier.npz",
        baseline="results/{dataset}/baseline/model.pt",
        code=code("classifier", "flows", "training", "io"),
    output:
        model="results/{dataset}/classifier/model.pt",
    log:
        "logs/train_classifier/{dataset}.log",
    benchmark:
        "benchmarks/train_classifier/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb("train_classifier"),
        runtime=runtime("train_classifier"),
        gpu=GPUS,
    params:
        settings=settings("classifier"),
        dtype=config["dtype"],
        seed=seed("train_classifier"),
    script:
        "../scripts/train_classifier.py"


rule compute_weights:
    input:
        samples="results/{dataset}/baseline/samples.npz",
        classifier="results/{dataset}/classifier/model.pt",
        code=code("classifier", "io"),
    output:
        samples="results/{dataset}/dctr/samples.npz",
    log:
        "logs/compute_weights/{dataset}.log",
    benchmark:
        "benchmarks/compute_weights/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb("compute_weights"),
        runtime=runtime("compute_weights"),
        gpu=GPUS,
    params:
        dtype=config["dtype"],
    script:
        "../scripts/compute_weights.py"
