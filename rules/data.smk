rule generate_data:
    input:
        code=code("generate_data"),
    output:
        train="results/{dataset}/data/train.npz",
        classifier="results/{dataset}/data/classifier.npz",
        truth="results/{dataset}/data/truth.npz",
        truth_test="results/{dataset}/data/truth_test.npz",
    log:
        "logs/generate_data/{dataset}.log",
    benchmark:
        "benchmarks/generate_data/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb("generate_data"),
        runtime=runtime("generate_data"),
    params:
        sizes=lambda wildcards: {
            "train": config["data"]["n_train"],
            "classifier": config["data"]["n_classifier"],
            "truth": config["data"]["n_eval"],
            "truth_test": config["data"]["n_eval"],
        },
        seed=seed("generate_data"),
    script:
        "../scripts/generate_data.py"
