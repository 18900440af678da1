# A black-box generator (config `blackbox`, Sec. 3): its samples, the pull-backs of
# the classifier's weights to its latent space (direct: w(x) of one draw; omnifold:
# OmniFold's nu(z)), and the box refined with each. Only with `blackbox.spec` set.


wildcard_constraints:
    pullback="direct|omnifold",


rule sample_blackbox:
    input:
        baseline="results/{dataset}/baseline/model.pt",
        code=code("sample_blackbox"),
    output:
        samples="results/{dataset}/blackbox/samples.npz",
    log:
        "logs/sample_blackbox/{dataset}.log",
    benchmark:
        "benchmarks/sample_blackbox/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        mem_mb=mem_mb("sample_blackbox"),
        runtime=runtime("sample_blackbox"),
        gpu=GPUS,
        device=DEVICE,
    params:
        spec=config["blackbox"]["spec"],
        options=config["blackbox"]["options"],
        stochastic=config["blackbox"]["stochastic"],
        n=data_size("n_eval"),
        dtype=config["dtype"],
        seed=seed("sample_blackbox"),
    script:
        "../scripts/sample_blackbox.py"


rule train_classifier_blackbox:
    input:
        unpack(classifier_data),
        baseline="results/{dataset}/baseline/model.pt",
        code=code("train_classifier_blackbox"),
    output:
        model="results/{dataset}/blackbox_dctr/classifier.pt",
    log:
        "logs/train_classifier_blackbox/{dataset}.log",
    benchmark:
        "benchmarks/train_classifier_blackbox/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("train_classifier_blackbox"),
        runtime=runtime("train_classifier_blackbox"),
        gpu=GPUS,
        device=DEVICE,
    params:
        spec=config["blackbox"]["spec"],
        options=config["blackbox"]["options"],
        stochastic=config["blackbox"]["stochastic"],
        settings=settings("classifier"),
        dtype=config["dtype"],
        seed=seed("train_classifier_blackbox"),
    script:
        "../scripts/train_classifier_blackbox.py"


rule compute_weights_blackbox:
    input:
        samples="results/{dataset}/blackbox/samples.npz",
        classifier="results/{dataset}/blackbox_dctr/classifier.pt",
        code=code("compute_weights_blackbox"),
    output:
        samples="results/{dataset}/blackbox_dctr/samples.npz",
    log:
        "logs/compute_weights_blackbox/{dataset}.log",
    benchmark:
        "benchmarks/compute_weights_blackbox/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        mem_mb=mem_mb("compute_weights_blackbox"),
        runtime=runtime("compute_weights_blackbox"),
        gpu=GPUS,
        device=DEVICE,
    params:
        # the direct pull-back: w(x) of each sample attached to its z
        latent="z",
        dtype=config["dtype"],
    script:
        "../scripts/compute_weights.py"


rule run_omnifold:
    input:
        data="results/{dataset}/data/classifier.npz",
        baseline="results/{dataset}/baseline/model.pt",
        samples="results/{dataset}/blackbox/samples.npz",
        code=code("run_omnifold"),
    output:
        model="results/{dataset}/blackbox_omnifold/latent_weight.pt",
        diagnostics=report(
            "results/{dataset}/blackbox_omnifold/diagnostics.tsv",
            caption="../report/omnifold_diagnostics.rst",
            category="OmniFold",
            labels={"dataset": "{dataset}"},
        ),
        samples="results/{dataset}/blackbox_omnifold/samples.npz",
    log:
        "logs/run_omnifold/{dataset}.log",
    benchmark:
        "benchmarks/run_omnifold/{dataset}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("run_omnifold"),
        runtime=runtime("run_omnifold"),
        gpu=GPUS,
        device=DEVICE,
    params:
        spec=config["blackbox"]["spec"],
        options=config["blackbox"]["options"],
        stochastic=config["blackbox"]["stochastic"],
        settings=settings("omnifold"),
        dtype=config["dtype"],
        seed=seed("run_omnifold"),
    script:
        "../scripts/run_omnifold.py"


rule train_refiner_blackbox:
    input:
        samples=blackbox_weights,
        code=code("train_refiner_blackbox"),
    output:
        model="results/{dataset}/blackbox_laser_{pullback}/refiner.pt",
    log:
        "logs/train_refiner_blackbox/{dataset}_{pullback}.log",
    benchmark:
        "benchmarks/train_refiner_blackbox/{dataset}_{pullback}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("train_refiner_blackbox"),
        runtime=runtime("train_refiner_blackbox"),
        gpu=GPUS,
        device=DEVICE,
    params:
        settings=settings("refiner"),
        generator="blackbox",
        dtype=config["dtype"],
        seed=lambda w: derive_seed(
            config["seed"], "train_refiner_blackbox", w.dataset, w.pullback
        ),
    script:
        "../scripts/train_refiner.py"


rule sample_blackbox_laser:
    input:
        refiner="results/{dataset}/blackbox_laser_{pullback}/refiner.pt",
        baseline="results/{dataset}/baseline/model.pt",
        code=code("sample_blackbox_laser"),
    output:
        samples="results/{dataset}/blackbox_laser_{pullback}/samples.npz",
    log:
        "logs/sample_blackbox_laser/{dataset}_{pullback}.log",
    benchmark:
        "benchmarks/sample_blackbox_laser/{dataset}_{pullback}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        mem_mb=mem_mb("sample_blackbox_laser"),
        runtime=runtime("sample_blackbox_laser"),
        gpu=GPUS,
        device=DEVICE,
    params:
        spec=config["blackbox"]["spec"],
        options=config["blackbox"]["options"],
        stochastic=config["blackbox"]["stochastic"],
        n=data_size("n_eval"),
        dtype=config["dtype"],
        seed=lambda w: derive_seed(
            config["seed"], "sample_blackbox_laser", w.dataset, w.pullback
        ),
    script:
        "../scripts/sample_blackbox_laser.py"
