rule generate_data:
    input:
        events=event_files,
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
            role: section(config, "data", wildcards.dataset)[key]
            for role, key in [
                ("train", "n_train"),
                ("classifier", "n_classifier"),
                ("truth", "n_eval"),
                ("truth_test", "n_eval"),
            ]
        },
        source=event_source,
        transforms=transforms,
        seed=seed("generate_data"),
    script:
        "../scripts/generate_data.py"


rule generate_events:
    input:
        code=code("generate_events"),
    output:
        events="results/{dataset}/data/pythia.parquet",
    log:
        "logs/generate_events/{dataset}.log",
    benchmark:
        "benchmarks/generate_events/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    # Pythia runs in as many processes (blocks of events with their own seeds:
    # the events do not depend on the number)
    threads: 2
    resources:
        mem_mb=mem_mb("generate_events"),
        runtime=runtime("generate_events"),
    params:
        pythia=lambda wildcards: entry(config, wildcards.dataset)["pythia"],
        seed=seed("generate_events"),
    script:
        "../scripts/generate_events.py"
