# Latent Space Refinement (LaSeR, arXiv:2106.00792) as a Snakemake workflow.
# Loads and validates the config, includes one rule file per stage, defines `all`.
import os

from snakemake.utils import min_version

min_version("9.0")


# The paper's settings; a file given with --configfile is merged over them. Found
# beside this Snakefile, so that `-s path/to/Snakefile -d elsewhere` works too.
configfile: os.path.join(workflow.basedir, "config.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"


onstart:
    log_estimate()


onsuccess:
    clear_progress()


onerror:
    clear_progress()


wildcard_constraints:
    dataset="|".join(map(re.escape, DATASETS)),


include: "rules/data.smk"
include: "rules/baseline.smk"
include: "rules/classifier.smk"
include: "rules/refine.smk"
include: "rules/iterate.smk"
include: "rules/hmc.smk"
include: "rules/samplers.smk"
include: "rules/blackbox.smk"
include: "rules/oracle.smk"
include: "rules/evaluate.smk"
include: "rules/plots.smk"


rule all:
    default_target: True
    input:
        ["results/table3.tsv", "results/table3.md"] if TOYS else [],
        ["results/scores.tsv", "results/scores.md"] if EVENTS else [],
        # a study over seeds: every score's mean and sd, the Betti numbers per seed
        [
            f"results/{t}_seeds.{e}"
            for t in (["table3"] if TOYS else []) + (["scores"] if EVENTS else [])
            for e in ("tsv", "md")
            if SEEDS > 1
        ],
        "results/summary.html",
        expand("results/{dataset}/figure.{ext}", dataset=TOYS, ext=["png", "pdf"]),
        expand("results/{dataset}/marginals.{ext}", dataset=EVENTS, ext=["png", "pdf"]),
        [
            f"results/{d}/corner/{m}.png"
            for d in EVENTS
            for m in dataset_methods(config, d)
        ],
        expand(
            "results/{dataset}/weights/{name}",
            dataset=[d for d in DATASETS if not generated_only(d)],
            name=["diagnostics.tsv", "calibration.tsv", "diagnostics.png"],
        ),
