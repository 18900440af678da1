rule evaluate:
    input:
        unpack(method_samples),
        truth="results/{dataset}/data/truth.npz",
        truth_test="results/{dataset}/data/truth_test.npz",
        code=code("evaluate"),
    output:
        metrics="results/{dataset}/metrics.tsv",
    log:
        "logs/evaluate/{dataset}.log",
    benchmark:
        "benchmarks/evaluate/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb("evaluate"),
        runtime=runtime("evaluate"),
    params:
        methods=METHODS,
        range=dataset_range,
        bins=config["evaluate"]["bins"],
        dims=config["evaluate"]["dims"],
        latent_range=config["evaluate"]["latent_range"],
    script:
        "../scripts/evaluate.py"


rule table:
    input:
        metrics=expand("results/{dataset}/metrics.tsv", dataset=DATASETS),
        code=code("table"),
    output:
        tsv=report(
            "results/table3.tsv",
            caption="../report/table.rst",
            category="Table 3",
        ),
        md="results/table3.md",
    log:
        "logs/table/all.log",
    conda:
        "../envs/laser.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb("table"),
        runtime=runtime("table"),
    script:
        "../scripts/table.py"
