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
        depth=config["evaluate"]["betti"]["depth"],
        # chains of the chain samplers' samples (draw i of chain i % n_chains),
        # whose Betti threshold counts their autocorrelation (evaluate.betti)
        chains=lambda wildcards: {
            m: section(config, name, wildcards.dataset)["n_chains"]
            for m, name in {
                "hmc": "hmc",
                "oracle": "hmc",
                "langevin": "langevin",
            }.items()
            if config["evaluate"]["betti"]["autocorrelation"]
            and m in dataset_methods(config, wildcards.dataset)
        },
    script:
        "../scripts/evaluate.py"


rule table:
    input:
        metrics=expand("results/{dataset}/metrics.tsv", dataset=TOYS),
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


rule evaluate_events:
    input:
        unpack(method_samples),
        truth="results/{dataset}/data/truth.npz",
        truth_test="results/{dataset}/data/truth_test.npz",
        code=code("evaluate_events"),
    output:
        scores="results/{dataset}/scores.tsv",
    log:
        "logs/evaluate_events/{dataset}.log",
    benchmark:
        "benchmarks/evaluate_events/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        mem_mb=mem_mb("evaluate_events"),
        runtime=runtime("evaluate_events"),
    params:
        methods=dataset_methods_of,
        features=lambda wildcards: entry(config, wildcards.dataset)["features"],
        pairs=lambda wildcards: entry(config, wildcards.dataset).get("pairs"),
        transforms=transforms,
        settings=config["evaluate"]["events"],
        seed=seed("evaluate_events"),
    script:
        "../scripts/evaluate_events.py"


rule table_events:
    input:
        scores=expand("results/{dataset}/scores.tsv", dataset=EVENTS),
        code=code("table_events"),
    output:
        tsv=report(
            "results/scores.tsv",
            caption="../report/scores.rst",
            category="Scores in D dimensions",
        ),
        md="results/scores.md",
    log:
        "logs/table_events/all.log",
    conda:
        "../envs/laser.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb("table_events"),
        runtime=runtime("table_events"),
    script:
        "../scripts/table_events.py"


rule table_seeds:
    input:
        tsv="results/{table}.tsv",
        code=code("table_seeds"),
    output:
        tsv=report(
            "results/{table}_seeds.tsv",
            caption="../report/seeds.rst",
            category="Over seeds",
        ),
        md="results/{table}_seeds.md",
    log:
        "logs/table_seeds/{table}.log",
    wildcard_constraints:
        table="table3|scores",
    conda:
        "../envs/laser.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb("table_seeds"),
        runtime=runtime("table_seeds"),
    script:
        "../scripts/table_seeds.py"
