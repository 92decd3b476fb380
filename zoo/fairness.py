"""Algorithmic bias: a generated credit table whose history is biased, and two remedies.

"The network is only as good as the training data it is given": a model trained to copy
past decisions copies their bias too. `credit_table` generates applicants for a loan in
the spirit of the course's student-loan example, with a known truth (who would repay)
that does not depend on the applicant's group, and a known history (who was approved)
that held one group to a stricter bar. Two remedies from the fairness literature:
`reweighing_weights` (Kamiran & Calders 2012), which reweighs the training examples so
that the label no longer depends on the group, and `group_thresholds`, one decision
threshold per group chosen to approve the same share of each group (a post-processing
in the spirit of Hardt, Price & Srebro 2016).
"""

import numpy as np
import pandas as pd

FEATURES = ("income", "age", "debt_ratio", "neighbourhood")
NEIGHBOURHOODS = 10
MEDIAN_INCOME = 40_000.0


def repayment_logit(income, age, debt_ratio):
    """The true model of repayment: the log-odds that an applicant repays, from the
    legitimate features alone (no group, no neighbourhood). Higher income, more years and
    less debt make repayment likelier."""
    return (
        0.5
        + 3.0 * np.log(np.asarray(income) / MEDIAN_INCOME)
        + 0.04 * (np.asarray(age) - 40.0)
        - 5.0 * (np.asarray(debt_ratio) - 0.3)
    )


def credit_table(n, seed, penalty=1.5, segregation=0.8, minority_share=0.4):
    """`n` generated loan applicants, one row each, drawn from `seed`.

    The generating process, in the order it is drawn:

    - `group`: the protected attribute, 1 (group B) with probability `minority_share`,
      else 0 (group A).
    - The legitimate features, drawn alike for both groups, on very different scales
      (as the course warns of student-loan features): `income` in dollars a year
      (log-normal, median 40,000), `age` in years (uniform, 21 to 65), `debt_ratio`, the
      share of income owed (Beta(2, 5), mean 0.29).
    - `neighbourhood` (0 to 9), a zip-code-like proxy: with probability `segregation` an
      applicant lives in their group's half of town (A: 0 to 4, B: 5 to 9), otherwise
      anywhere. It says nothing about repayment, only about the group.
    - `repaid`, the truth: an applicant's creditworthiness is `repayment_logit(...)` plus
      standard logistic noise, and they repay if it is positive. The group enters
      nowhere, so both groups repay equally often, up to sampling.
    - `approved`, the history: past loan officers saw the same creditworthiness but
      approved group A when it was positive and group B only when it exceeded `penalty`
      (in log-odds). For group A the history is the truth; group B's applicants who
      would have repaid with a creditworthiness in (0, `penalty`] were refused.

    Returns:
        A `pandas.DataFrame` with the columns `group`, `income`, `age`, `debt_ratio`,
        `neighbourhood`, `repaid` and `approved` (integers 0 or 1 for the last two).
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if penalty < 0:
        raise ValueError(f"penalty must not be negative, got {penalty}")
    for name, value in (("segregation", segregation), ("minority_share", minority_share)):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must lie in [0, 1], got {value}")
    rng = np.random.default_rng(seed)
    group = (rng.random(n) < minority_share).astype(int)
    income = MEDIAN_INCOME * np.exp(0.4 * rng.standard_normal(n))
    age = rng.uniform(21, 65, n)
    debt_ratio = rng.beta(2, 5, n)
    own_half = rng.random(n) < segregation
    neighbourhood = np.where(
        own_half,
        5 * group + rng.integers(0, NEIGHBOURHOODS // 2, n),
        rng.integers(0, NEIGHBOURHOODS, n),
    )
    creditworthiness = repayment_logit(income, age, debt_ratio) + rng.logistic(size=n)
    return pd.DataFrame(
        {
            "group": group,
            "income": income,
            "age": age,
            "debt_ratio": debt_ratio,
            "neighbourhood": neighbourhood,
            "repaid": (creditworthiness > 0).astype(int),
            "approved": (creditworthiness > penalty * group).astype(int),
        }
    )


def reweighing_weights(group, y):
    """Kamiran & Calders (2012) reweighing: each example of group g and label y weighs

        w(g, y) = n_g n_y / (n n_gy),

    the count it would have if group and label were independent, over the count it has.
    Under these weights every group has the same share of positive labels, the overall
    share, and the weights sum to n. A (group, label) pair that never occurs gets no
    examples and so no weight.

    Args:
        group: one group per example (any values).
        y: one label per example (any values).

    Returns:
        A float NumPy array, one weight per example.
    """
    group, y = np.asarray(group), np.asarray(y)
    if group.shape != y.shape or group.ndim != 1:
        raise ValueError(f"group and y must be 1-D of one length, got {group.shape}, {y.shape}")
    n = len(y)
    weights = np.empty(n)
    for g in np.unique(group):
        for label in np.unique(y):
            cell = (group == g) & (y == label)
            if cell.any():
                weights[cell] = (group == g).sum() * (y == label).sum() / (n * cell.sum())
    return weights


def group_thresholds(scores, group, rate):
    """One decision threshold per group, so that each group has the approval rate `rate`:
    the `1 - rate` quantile of that group's scores. Approve where `scores >= threshold`.

    Returns:
        A dict `{group: threshold}`.
    """
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must lie in [0, 1], got {rate}")
    scores, group = np.asarray(scores), np.asarray(group)
    return {g: float(np.quantile(scores[group == g], 1 - rate)) for g in np.unique(group)}


def decide(scores, group, thresholds):
    """Approvals (0 or 1) of `scores` under per-group `thresholds` (`group_thresholds`)."""
    scores, group = np.asarray(scores), np.asarray(group)
    limit = np.array([thresholds[g] for g in group])
    return (scores >= limit).astype(int)


def calibration_by_group(scores, group, outcomes, bins=10):
    """Per group and bin of predicted probability (`bins` equal bins of [0, 1]): how many
    examples fall in it, their mean score, and the share of each of `outcomes` among
    them. A calibrated score matches the share of its outcome bin by bin, in every group.

    Args:
        scores: predicted probabilities, one per example.
        group: one group per example.
        outcomes: `{name: array of 0 or 1}`, the outcomes to compare the scores with.
        bins: how many bins.

    Returns:
        A `pandas.DataFrame`, one row per non-empty (group, bin): `group`, `bin`,
        `count`, `mean_score` and one column per outcome.
    """
    scores, group = np.asarray(scores, dtype=float).ravel(), np.asarray(group)
    frame = pd.DataFrame(
        {
            "group": group,
            "bin": np.clip((scores * bins).astype(int), 0, bins - 1),
            "count": 1,
            "mean_score": scores,
            **{name: np.asarray(values, dtype=float) for name, values in outcomes.items()},
        }
    )
    grouped = frame.groupby(["group", "bin"])
    means = grouped.mean().drop(columns="count")
    return grouped["count"].sum().to_frame().join(means).reset_index()
