"""Plot helpers the experiments share: matplotlib, nothing else."""


def errorbar_over_seeds(axis, values, by, x=None, **style):
    """Draws the mean and standard deviation over seeds of `values` (a pandas Series, one
    row per seed and condition) for each value of `by`, as error bars on `axis`.

    `x` maps a value of `by` to its position on the x axis (default: the value itself);
    `style` goes to `axis.errorbar` (marker "o" and caps unless given).
    """
    stats = values.groupby(by).agg(["mean", "std"])
    positions = stats.index if x is None else [x(value) for value in stats.index]
    style = {"marker": "o", "capsize": 3, **style}
    return axis.errorbar(positions, stats["mean"], yerr=stats["std"].fillna(0), **style)
