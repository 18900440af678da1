# Rounds k >= 2 of refinement (refine.iterations): classifier -> weights -> refiner
# on the refined generator of round k - 1, g_{k-1}(y) = g(phi_1(...phi_{k-1}(y))).
# Round 1 is the paper's LaSeR (classifier.smk, refine.smk); round k writes under
# results/{dataset}/laser_{k}/ and its samples are the method laser_k.


wildcard_constraints:
    iteration="[2-9]|[1-9][0-9]+",


rule train_classifier_iterated:
    input:
        unpack(classifier_data),
        baseline="results/{dataset}/baseline/model.pt",
        refiners=refiner_paths(-1),
        code=code("train_classifier_iterated"),
    output:
        model="results/{dataset}/laser_{iteration}/classifier.pt",
    log:
        "logs/train_classifier_iterated/{dataset}_{iteration}.log",
    benchmark:
        "benchmarks/train_classifier_iterated/{dataset}_{iteration}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("train_classifier_iterated"),
        runtime=runtime("train_classifier_iterated"),
        gpu=GPUS,
        device=DEVICE,
    params:
        settings=settings("classifier"),
        transforms=transforms,
        dtype=config["dtype"],
        seed=iterated_seed("train_classifier"),
    script:
        "../scripts/train_classifier.py"


rule compute_weights_iterated:
    input:
        samples=previous_samples,
        classifier="results/{dataset}/laser_{iteration}/classifier.pt",
        code=code("compute_weights_iterated"),
    output:
        samples="results/{dataset}/laser_{iteration}/weighted.npz",
    log:
        "logs/compute_weights_iterated/{dataset}_{iteration}.log",
    benchmark:
        "benchmarks/compute_weights_iterated/{dataset}_{iteration}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        mem_mb=mem_mb("compute_weights_iterated"),
        runtime=runtime("compute_weights_iterated"),
        gpu=GPUS,
        device=DEVICE,
    params:
        # the latent points the refiner trains on: y of the refined generator
        latent="y",
        dtype=config["dtype"],
    script:
        "../scripts/compute_weights.py"


rule train_refiner_iterated:
    input:
        samples="results/{dataset}/laser_{iteration}/weighted.npz",
        code=code("train_refiner_iterated"),
    output:
        model="results/{dataset}/laser_{iteration}/refiner.pt",
    log:
        "logs/train_refiner_iterated/{dataset}_{iteration}.log",
    benchmark:
        "benchmarks/train_refiner_iterated/{dataset}_{iteration}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        **PROGRESS,
        mem_mb=mem_mb("train_refiner_iterated"),
        runtime=runtime("train_refiner_iterated"),
        gpu=GPUS,
        device=DEVICE,
    params:
        settings=settings("refiner"),
        generator=generator_kind(None),
        dtype=config["dtype"],
        seed=iterated_seed("train_refiner"),
    script:
        "../scripts/train_refiner.py"


rule sample_laser_iterated:
    input:
        baseline="results/{dataset}/baseline/model.pt",
        refiners=refiner_paths(0),
        code=code("sample_laser_iterated"),
    output:
        samples="results/{dataset}/laser_{iteration}/samples.npz",
    log:
        "logs/sample_laser_iterated/{dataset}_{iteration}.log",
    benchmark:
        "benchmarks/sample_laser_iterated/{dataset}_{iteration}.tsv"
    conda:
        "../envs/laser.yaml"
    threads: THREADS
    resources:
        mem_mb=mem_mb("sample_laser_iterated"),
        runtime=runtime("sample_laser_iterated"),
        gpu=GPUS,
        device=DEVICE,
    params:
        n=data_size("n_eval"),
        dtype=config["dtype"],
        seed=iterated_seed("sample_laser"),
    script:
        "../scripts/sample_laser.py"
