rule train_baseline:
    input:
        unpack(own_generator_checkpoint),
        train="results/{dataset}/data/train.npz",
        code=code("train_baseline"),
    output:
        model="results/{dataset}/baseline/model.pt",
    log:
        "logs/train_baseline/{dataset}.log",
    benchmark:
        "benchmarks/train_baseline/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("train_baseline"),
        runtime=runtime("train_baseline"),
        gpu=GPUS,
        device=DEVICE,
    params:
        settings=settings("baseline"),
        transforms=transforms,
        generator=own_generator,
        dtype=config["dtype"],
        seed=seed("train_baseline"),
    script:
        "../scripts/train_baseline.py"


rule sample_baseline:
    input:
        unpack(baseline_model),
        code=code("sample_baseline"),
    output:
        samples="results/{dataset}/baseline/samples.npz",
    log:
        "logs/sample_baseline/{dataset}.log",
    benchmark:
        "benchmarks/sample_baseline/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        mem_mb=mem_mb("sample_baseline"),
        runtime=runtime("sample_baseline"),
        gpu=GPUS,
        device=DEVICE,
    params:
        n=data_size("n_eval"),
        dtype=config["dtype"],
        seed=seed("sample_baseline"),
    script:
        "../scripts/sample_baseline.py"


rule import_generated:
    input:
        generated=lambda wildcards: entry(config, wildcards.dataset)["generated"],
        code=code("import_generated"),
    output:
        classifier="results/{dataset}/generated/classifier.npz",
        samples="results/{dataset}/generated/samples.npz",
    log:
        "logs/import_generated/{dataset}.log",
    conda:
        "../envs/laser.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb("generate_data"),
        runtime=runtime("generate_data"),
    params:
        source=lambda wildcards: {
            "features": entry(config, wildcards.dataset)["features"],
            "format": entry(config, wildcards.dataset)["format"],
            "key": entry(config, wildcards.dataset)["key"],
        },
        sizes=lambda wildcards: {
            "classifier": section(config, "data", wildcards.dataset)["n_classifier"],
            "samples": section(config, "data", wildcards.dataset)["n_eval"],
        },
        seed=seed("import_generated"),
    script:
        "../scripts/import_generated.py"
