"""Reports people can look at: the bootstrap leaderboard and the static HTML report of one submission.

Scoring comes from :mod:`magic_submit.scoring`, resampling from :mod:`evaluation.bootstrap`; this
package only arranges, draws and writes. matplotlib is imported inside :mod:`.plots` only.
"""
