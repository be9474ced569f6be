"""Model cards: read weights/NAME.json and render it as Markdown (written by ecgcore.models.evaluate)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..signal.record import CLASSES
from .registry import WEIGHTS_DIR

RETRAIN = ("To retrain on the full PTB-XL: `python ../shared/ptbxl_full100/expand.py --out data/ptb-xl` (or "
           "`python -m ecgcore.io.download --rate 100`), then `python -m ecgcore.models.train signal`, `... spectrum`, "
           "`... scalogram`, `python -m ecgcore.models.fusion fit` and `python -m ecgcore.models.evaluate` "
           "(or `bash scripts/train_full.sh data/ptb-xl weights` for all of it, resumable).")

HISTORY = ("Earlier versions of these models were trained on the 1,501 training records of a partial PTB-XL "
           "copy; the 256 fold-10 records of that copy were read by three earlier evaluations. On the full "
           "fold 10 and on the fold-10 records no earlier evaluation read, those earlier weights measured: "
           "see the baseline table in docs/selection_log.md (session 5). The models of this card were "
           "trained on the full folds 1-8 by recipes fixed before training, chosen and calibrated on fold 9, "
           "and evaluated on fold 10 once, after every choice was made.")


def data_note(card: dict) -> str:
    """Which data the model learnt from and was measured on, from the card itself."""
    tr = card.get("train") or {}
    n_train = tr.get("n_train")
    fit = card.get("fit") or {}
    n9 = tr.get("n_val") or fit.get("n_records") or card["fold9"]["n_records"]
    learnt = (f"trained on {n_train:,} records of PTB-XL folds 1-8 (100 Hz, with a diagnostic superclass)"
              if n_train else "fitted on top of the three networks, each trained on PTB-XL folds 1-8")
    return (f"This model was {learnt}; fold 9 ({n9:,} records) chose the epoch and fitted calibration and "
            f"thresholds; fold 10 ({card['fold10']['n_records']:,} records) gives the figures below.")


def load_card(name: str, weights_dir: str | os.PathLike | None = None) -> dict:
    """The card of model `name` as a dict. Raises FileNotFoundError with the command to make it."""
    path = Path(weights_dir or WEIGHTS_DIR) / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no model card {path.name}; run `python -m ecgcore.models.evaluate`")
    return json.loads(path.read_text())


def _ci(m: dict) -> str:
    lo, hi = m["macro_auc_ci95"]
    return f"{m['macro_auc']:.3f} (95% CI {lo:.3f}-{hi:.3f})"


def card_markdown(card: dict) -> str:
    """Human-readable card: metrics with CIs and counts, calibration, training data, retraining."""
    t, v = card["fold10"], card["fold9"]
    lines = [f"# Model card: {card['title']} (`{card['name']}`)", "",
             data_note(card), "", HISTORY, "",
             "## Headline", "",
             f"- Fold-10 (test) macro ROC-AUC: **{_ci(t)}** on {t['n_records']} records "
             f"({boot_text(t)}).",
             f"- Fold-9 (validation, used for selection) macro ROC-AUC: {_ci(v)} on {v['n_records']} records.",
             f"- Macro ECE on fold 10: {t['ece_before']:.3f} before calibration, {t['ece_after']:.3f} after.",
             *ece_chance_line(t), *untouched_lines(card), ""]
    if "fusion_verdict" in card:
        lines += [f"- {card['fusion_verdict']}.", *fusion_untouched_line(card), ""]
    lines += ["## Per class, fold 10", "",
              "| class | positives | AUC (95% CI) | F1 | sensitivity | specificity | threshold |",
              "|---|---|---|---|---|---|---|"]
    for cls in CLASSES:
        c = t["classes"][cls]
        lines.append(f"| {cls} | {c['positives']} | {c['auc']:.3f} ({c['auc_ci95'][0]:.3f}-{c['auc_ci95'][1]:.3f}) "
                     f"| {c['f1']:.3f} | {c['sensitivity']:.3f} | {c['specificity']:.3f} | {c['threshold']:.3f} |")
    calib = card.get("calibration") or {}
    lines += ["", f"Thresholds: {card.get('threshold_rule')}. Calibration: {calib.get('method')}"
              + (f"; rule: {calib['rule']}" if "rule" in calib else "") + ".", ""]
    if "selection" in calib:
        lines += ["| calibration | fold-9 cross-validated ECE | fold-9 cross-validated BCE |", "|---|---|---|"]
        lines += [f"| {m} | {s['cv_ece']:.4f} | {s['cv_bce']:.4f} |" for m, s in calib["selection"].items()]
        lines.append("")
    if "risk_coverage_fold10" in card:
        sel = card.get("uncertainty_selection") or {}
        lines += ["## Risk-coverage on fold 10", "", f"Abstention score: {card['risk_coverage_fold10']['score']}."]
        if sel:
            lines += [f"Chosen by: {sel['rule']}; mean gain per candidate: "
                      + ", ".join(f"{k} {v:+.4f}" for k, v in sel["table"].items()) + "."]
        g = card["risk_coverage_fold10"].get("gain_at_90")
        if g:
            lines += [f"Macro AUC at 90% coverage minus full coverage: {g['gain']:+.3f} (95% CI {g['ci95'][0]:+.3f} "
                      f"to {g['ci95'][1]:+.3f}, {g['bootstrap_resamples']} bootstrap resamples of records)."]
        lines += ["", "| coverage | records | macro AUC |", "|---|---|---|"]
        for row in card["risk_coverage_fold10"]["curve"]:
            lines.append(f"| {row['coverage']:.2f} | {row['n_records']} | {row['macro_auc']:.3f} |")
        lines.append("")
    lines += joint_section(card)
    if "train" in card:
        tr = card["train"]
        lines += ["## Training", "",
                  f"- Data: PTB-XL folds {tr['folds'][0]}-{tr['folds'][-1]}, {tr['n_train']} records "
                  f"(positives {tr['train_positives']}); model chosen on fold {tr['val_fold']} "
                  f"({tr['n_val']} records), epoch {tr['best_epoch']} of {tr['epochs']}.",
                  f"- Network: `{card['net']}` {card['net_kwargs']}, {card['n_params']:,} parameters; "
                  f"view `{card['view']}` {card['view_params']}.",
                  f"- Time: {tr['seconds'] / 60:.1f} min on {tr['threads']} CPU thread(s); seed {tr['seed']}; "
                  f"git commit {tr['git_commit']}.",
                  *([f"- Machine: {_machine(tr['machine'])} (bit-identical reruns need the same CPU "
                     "instruction set and versions; other machines agree to within run-to-run noise)."]
                    if tr.get("machine") else []),
                  f"- Command: `{tr['command']}`", ""]
    lines += limitations(card)
    if "groups" in card.get("quality_validation", {}):
        q = card["quality_validation"]
        lines += ["## Signal quality check vs PTB-XL's quality columns", "",
                  f"Our per-lead quality check on {q['records']} records "
                  f"({card.get('quality_validation_ids', 'records with ' + str(q['fs']) + ' Hz signals')}), "
                  "grouped by PTB-XL's own flags (a record is 'flagged' when any lead has a problem).", "",
                  "| PTB-XL group | records | flagged by us | not assessable | most common problem |",
                  "|---|---|---|---|---|"]
        for group, g in q["groups"].items():
            lines.append(quality_row(group, g))
        lines.append("")
    lines += ["## Retraining", "", RETRAIN, "", f"Card generated {card['generated']} by "
              f"`{card['evaluation_command']}` from `{card['weights_file']}` (sha256 {card['weights_sha256'][:16]}...).",
              "", "PTB-XL: Wagner et al., Scientific Data 7:154 (2020); PhysioNet doi:10.13026/kfzx-aw45 (CC BY 4.0).", ""]
    return "\n".join(lines)


def quality_row(group: str, g: dict) -> str:
    """One table row of the quality check; a group with no records says so instead of rates."""
    if not g["records"]:
        return f"| {group} | 0 | no records in this group | - | - |"
    common = max(g["by_code_rate"], key=g["by_code_rate"].get)
    return (f"| {group} | {g['records']} | {g['flagged_rate']:.1%} | {g['not_assessable_rate']:.1%} "
            f"| {common} ({g['by_code_rate'][common]:.1%}) |")


def untouched_lines(card: dict) -> list[str]:
    """Fold 10 without the 256 records that earlier evaluations read (present on the full folder only)."""
    u = card.get("fold10_untouched")
    if not u:
        return []
    return [f"- Fold 10 without the 256 records read by earlier evaluations: macro ROC-AUC **{_ci(u)}** on "
            f"{u['n_records']:,} records ({boot_text(u)}); macro ECE after calibration {u['ece_after']:.3f}."]


def fusion_untouched_line(card: dict) -> list[str]:
    d = card.get("fused_minus_best_fold10_untouched")
    if not d:
        return []
    return [f"- On the {d['n_records']:,} fold-10 records no earlier evaluation read: fused minus "
            f"{d['best_single']} {d['difference']:+.4f} (paired 95% CI {d['ci95'][0]:+.4f} to {d['ci95'][1]:+.4f})."]


def ece_chance_line(t: dict) -> list[str]:
    """What ECE sampling noise alone gives on this many records (context for the 0.05 target)."""
    if "ece_chance" not in t:
        return []
    c = t["ece_chance"]
    return [f"- For scale: a perfectly calibrated model giving these same probabilities would show a macro ECE "
            f"of {c['mean']:.3f} on average (95th percentile {c['p95']:.3f}) on {t['n_records']} records, from "
            "sampling noise alone (labels simulated from the probabilities). The 0.05 target is judged on the "
            "measured ECE above, not on this."]


def joint_section(card: dict) -> list[str]:
    """The fold-9 comparison of the late fusion with a joint model over embeddings (fused card)."""
    j = (card.get("fit") or {}).get("joint_embedding_model")
    if not isinstance(j, dict):
        return []
    d = j["joint_minus_late"]
    return ["## Late fusion vs a joint model over embeddings (fold 9 only)", "",
            f"{j['protocol']}, {j['n_records']} records; joint model: per-class L2 logistic regression on the "
            f"three networks' {j['embedding_dim']} standardised pooled features.", "",
            "| fusion | out-of-fold macro AUC |", "|---|---|",
            f"| late fusion (shipped) | {j['late_fusion_oof_macro_auc']:.4f} |",
            f"| joint over embeddings | {j['joint_oof_macro_auc']:.4f} |", "",
            f"Joint minus late per repeat: mean {d['mean']:+.4f} (min {d['min']:+.4f}, max {d['max']:+.4f}). "
            f"Rule: {j['rule']}. Verdict: {j['verdict']}.", ""]


def _machine(m: dict) -> str:
    return f"{m['cpu']}, torch kernels {m['isa']}, torch {m['torch']}, numpy {m['numpy']}"


def limitations(card: dict) -> list[str]:
    """Where the model is weakest, in words, from the fold-10 figures."""
    t = card["fold10"]["classes"]
    worst_auc = min(t, key=lambda c: t[c]["auc"])
    worst_sens = min(t, key=lambda c: t[c]["sensitivity"])
    n_train = f"{card['train']['n_train']:,}" if "train" in card else "PTB-XL folds 1-8:"
    return ["## Where it fails", "",
            f"- Weakest class by AUC: {worst_auc} ({t[worst_auc]['auc']:.3f}, {t[worst_auc]['positives']} positives "
            "in fold 10, so its CI is the widest).",
            f"- Lowest sensitivity at the shipped threshold: {worst_sens} ({t[worst_sens]['sensitivity']:.0%}: "
            f"{t[worst_sens]['confusion']['fn']} of {t[worst_sens]['positives']} positives missed).",
            f"- Trained on {n_train} records from one PTB-XL source population (Schiller devices, Germany, 1989-1996); "
            "not validated on other devices, paediatric ECGs, pacemaker rhythms or other populations.",
            "- Fold 9 flatters every model (used for selection and calibration): read fold 10.", ""]


def boot_text(m: dict) -> str:
    pos = ", ".join(f"{k} {v}" for k, v in m["positives"].items())
    return f"positives {pos}; {m['bootstrap_resamples']} bootstrap resamples of records"
