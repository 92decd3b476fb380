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


def mean_points(axis, rows, x, y, by, order=None):
    """One point per value of `by` (in `order`, default as they come): the mean over seeds
    of columns `x` and `y` of the DataFrame `rows`, with their standard deviations as
    error bars where there are several seeds, labelled with the value."""
    for i, name in enumerate(rows[by].unique() if order is None else order):
        group = rows[rows[by] == name]
        spread = len(group) > 1
        axis.errorbar(
            group[x].mean(),
            group[y].mean(),
            xerr=group[x].std() if spread else None,
            yerr=group[y].std() if spread else None,
            marker="o",
            capsize=3,
            color=f"C{i}",
            label=name,
        )
