rule train_classifier:
    input:
        unpack(classifier_generated),
        unpack(classifier_data),
        code=code("train_classifier"),
    output:
        model="results/{dataset}/classifier/model.pt",
    log:
        "logs/train_classifier/{dataset}.log",
    benchmark:
        "benchmarks/train_classifier/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("train_classifier"),
        runtime=runtime("train_classifier"),
        gpu=GPUS,
        device=DEVICE,
    params:
        settings=settings("classifier"),
        transforms=transforms,
        dtype=config["dtype"],
        seed=seed("train_classifier"),
    script:
        "../scripts/train_classifier.py"


rule compute_weights:
    input:
        samples="results/{dataset}/baseline/samples.npz",
        classifier="results/{dataset}/classifier/model.pt",
        code=code("compute_weights"),
    output:
        samples="results/{dataset}/dctr/samples.npz",
    log:
        "logs/compute_weights/{dataset}.log",
    benchmark:
        "benchmarks/compute_weights/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        mem_mb=mem_mb("compute_weights"),
        runtime=runtime("compute_weights"),
        gpu=GPUS,
        device=DEVICE,
    params:
        # the latent points the refiner trains on: z of the baseline
        latent="z",
        dtype=config["dtype"],
    script:
        "../scripts/compute_weights.py"


rule weight_diagnostics:
    input:
        unpack(held_out_events),
        samples="results/{dataset}/dctr/samples.npz",
        baseline="results/{dataset}/baseline/model.pt",
        classifier="results/{dataset}/classifier/model.pt",
        code=code("weight_diagnostics"),
    output:
        summary=report(
            "results/{dataset}/weights/diagnostics.tsv",
            caption="../report/weights.rst",
            category="Weights",
            labels={"dataset": "{dataset}", "content": "summary"},
        ),
        calibration=report(
            "results/{dataset}/weights/calibration.tsv",
            caption="../report/calibration.rst",
            category="Weights",
            labels={"dataset": "{dataset}", "content": "calibration curve"},
        ),
        png=report(
            "results/{dataset}/weights/diagnostics.png",
            caption="../report/weights_figure.rst",
            category="Weights",
            labels={"dataset": "{dataset}", "content": "figure"},
        ),
    log:
        "logs/weight_diagnostics/{dataset}.log",
    benchmark:
        "benchmarks/weight_diagnostics/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        mem_mb=mem_mb("weight_diagnostics"),
        runtime=runtime("weight_diagnostics"),
        gpu=GPUS,
        device=DEVICE,
    params:
        n_calibration=data_size("n_classifier"),
        bins=config["evaluate"]["calibration_bins"],
        dtype=config["dtype"],
        seed=seed("weight_diagnostics"),
    script:
        "../scripts/weight_diagnostics.py"
