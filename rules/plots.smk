rule plot_figure:
    input:
        unpack(method_samples),
        truth="results/{dataset}/data/truth.npz",
        metrics="results/{dataset}/metrics.tsv",
        code=code("plot_figure"),
    output:
        png=report(
            "results/{dataset}/figure.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"dataset": "{dataset}", "format": "PNG"},
        ),
        pdf=report(
            "results/{dataset}/figure.pdf",
            caption="../report/figure.rst",
            category="Figures",
            labels={"dataset": "{dataset}", "format": "PDF"},
        ),
    log:
        "logs/plot_figure/{dataset}.log",
    benchmark:
        "benchmarks/plot_figure/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb("plot_figure"),
        runtime=runtime("plot_figure"),
    params:
        methods=METHODS,
        range=dataset_range,
        latent_range=config["evaluate"]["latent_range"],
        bins=config["evaluate"]["bins"],
        dims=config["evaluate"]["dims"],
    script:
        "../scripts/plot_figure.py"


rule summary:
    input:
        tsv="results/table3.tsv",
        figures=expand("results/{dataset}/figure.png", dataset=DATASETS),
        code=code("summary"),
    output:
        report(
            "results/summary.html",
            caption="../report/summary.rst",
            category="Summary",
        ),
    log:
        "logs/summary/all.log",
    conda:
        "../envs/laser.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb("summary"),
        runtime=runtime("summary"),
    params:
        datasets=DATASETS,
    script:
        "../scripts/summary.py"
