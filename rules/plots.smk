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


rule plot_marginals:
    input:
        unpack(method_samples),
        truth="results/{dataset}/data/truth.npz",
        code=code("plot_marginals"),
    output:
        png=report(
            "results/{dataset}/marginals.png",
            caption="../report/marginals.rst",
            category="Figures",
            labels={"dataset": "{dataset}", "figure": "marginals"},
        ),
        pdf="results/{dataset}/marginals.pdf",
    log:
        "logs/plot_marginals/{dataset}.log",
    benchmark:
        "benchmarks/plot_marginals/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb("plot_marginals"),
        runtime=runtime("plot_marginals"),
    params:
        methods=dataset_methods_of,
        features=lambda wildcards: entry(config, wildcards.dataset)["features"],
        transforms=transforms,
        bins=config["evaluate"]["events"]["bins"],
    script:
        "../scripts/plot_events.py"


rule plot_corner:
    input:
        samples="results/{dataset}/{method}/samples.npz",
        truth="results/{dataset}/data/truth.npz",
        code=code("plot_corner"),
    output:
        png=report(
            "results/{dataset}/corner/{method}.png",
            caption="../report/corner.rst",
            category="Figures",
            labels={"dataset": "{dataset}", "figure": "corner {method}"},
        ),
    log:
        "logs/plot_corner/{dataset}/{method}.log",
    benchmark:
        "benchmarks/plot_corner/{dataset}/{method}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb("plot_corner"),
        runtime=runtime("plot_corner"),
    params:
        features=lambda wildcards: entry(config, wildcards.dataset)["features"],
        transforms=transforms,
        bins=config["evaluate"]["events"]["pair_bins"],
    script:
        "../scripts/plot_events.py"


rule summary:
    input:
        tsv=["results/table3.tsv"] if TOYS else [],
        scores=["results/scores.tsv"] if EVENTS else [],
        seeds=["results/table3_seeds.md"] if TOYS and SEEDS > 1 else [],
        figures=[
            f"results/{d}/figure.png" if d in TOYS else f"results/{d}/marginals.png"
            for d in DATASETS
        ],
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
