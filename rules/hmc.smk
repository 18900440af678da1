rule run_hmc:
    input:
        baseline="results/{dataset}/baseline/model.pt",
        classifier="results/{dataset}/classifier/model.pt",
        code=code("run_hmc"),
    output:
        samples="results/{dataset}/hmc/samples.npz",
        diagnostics=report(
            "results/{dataset}/hmc/diagnostics.tsv",
            caption="../report/hmc_diagnostics.rst",
            category="HMC diagnostics",
            labels={"dataset": "{dataset}", "method": "hmc"},
        ),
    log:
        "logs/run_hmc/{dataset}.log",
    benchmark:
        "benchmarks/run_hmc/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("run_hmc"),
        runtime=runtime("run_hmc"),
        gpu=GPUS,
        device=DEVICE,
    params:
        hmc=settings("hmc"),
        n=data_size("n_eval"),
        dtype=config["dtype"],
        seed=seed("run_hmc"),
    script:
        "../scripts/run_hmc.py"
