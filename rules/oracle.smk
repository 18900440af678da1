rule run_oracle:
    input:
        baseline="results/{dataset}/baseline/model.pt",
        code=code("run_oracle"),
    output:
        samples="results/{dataset}/oracle/samples.npz",
        diagnostics=report(
            "results/{dataset}/oracle/diagnostics.tsv",
            caption="../report/hmc_diagnostics.rst",
            category="HMC diagnostics",
            labels={"dataset": "{dataset}", "method": "oracle"},
        ),
    log:
        "logs/run_oracle/{dataset}.log",
    benchmark:
        "benchmarks/run_oracle/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("run_oracle"),
        runtime=runtime("run_oracle"),
        gpu=GPUS,
        device=DEVICE,
    params:
        hmc=settings("hmc"),
        n=data_size("n_eval"),
        dtype=config["dtype"],
        seed=seed("run_oracle"),
    script:
        "../scripts/run_oracle.py"
