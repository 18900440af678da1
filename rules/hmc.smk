rule run_hmc:
    output:
        samples="results/{dataset}/hmc/samples.npz",
    input:
        baseline="results/{dataset}/baseline/model.pt",
        classifier="results/{dataset}/classifier/model.pt",
        code=code("mcmc", "pullback", "flows", "classifier", "io"),
    log:
        "logs/run_hmc/{dataset}.log",
    benchmark:
        "benchmarks/run_hmc/{dataset}.tsv"
    params:
        hmc=settings("hmc"),
        n=config["data"]["n_eval"],
        dtype=config["dtype"],
        seed=seed("run_hmc"),
    threads: 2
    conda:
        "../envs/laser.yaml"
    script:
        "../scripts/run_hmc.py"
