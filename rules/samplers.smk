rule run_rejection:
    input:
        baseline="results/{dataset}/baseline/model.pt",
        classifier="results/{dataset}/classifier/model.pt",
        code=code("run_rejection"),
    output:
        samples="results/{dataset}/rejection/samples.npz",
        diagnostics=report(
            "results/{dataset}/rejection/diagnostics.tsv",
            caption="../report/rejection_diagnostics.rst",
            category="Sampler diagnostics",
            labels={"dataset": "{dataset}", "method": "rejection"},
        ),
    log:
        "logs/run_rejection/{dataset}.log",
    benchmark:
        "benchmarks/run_rejection/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("run_rejection"),
        runtime=runtime("run_rejection"),
        gpu=GPUS,
        device=DEVICE,
    params:
        rejection=settings("rejection"),
        n=data_size("n_eval"),
        dtype=config["dtype"],
        seed=seed("run_rejection"),
    script:
        "../scripts/run_rejection.py"


rule run_langevin:
    input:
        baseline="results/{dataset}/baseline/model.pt",
        classifier="results/{dataset}/classifier/model.pt",
        code=code("run_langevin"),
    output:
        samples="results/{dataset}/langevin/samples.npz",
        diagnostics=report(
            "results/{dataset}/langevin/diagnostics.tsv",
            caption="../report/langevin_diagnostics.rst",
            category="Sampler diagnostics",
            labels={"dataset": "{dataset}", "method": "langevin"},
        ),
    log:
        "logs/run_langevin/{dataset}.log",
    benchmark:
        "benchmarks/run_langevin/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("run_langevin"),
        runtime=runtime("run_langevin"),
        gpu=GPUS,
        device=DEVICE,
    params:
        langevin=settings("langevin"),
        n=data_size("n_eval"),
        dtype=config["dtype"],
        seed=seed("run_langevin"),
    script:
        "../scripts/run_langevin.py"
