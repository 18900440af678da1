rule run_hmc:
    input:
        baseline="results/{dataset}/baseline/model.pt",
        classifier="results/{dataset}/classifier/model.pt",
        code=code("mcmc", "pullback", "flows", "classifier", "io"),
    output:
        samples="results/{dataset}/hmc/samples.npz",
    log:
        "logs/run_hmc/{dataset}.log",
    benchmark:
        "benchmarks/run_hmc/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb("run_hmc"),
        runtime=runtime("run_hmc"),
        gpu=GPUS,
    params:
        hmc=settings("hmc"),
        n=config["data"]["n_eval"],
        dtype=config["dtype"],
        seed=seed("run_hmc"),
    script:
        "../scripts/run_hmc.py"
