"""Pure checkers: functions of (history, options) -> Result. They import nothing from the runner, cluster,
network or report, and never write files."""
