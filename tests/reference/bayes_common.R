## Shared by make_bayes_reference.R and make_bayes_binomial_reference.R (sourced from
## this folder): the log densities of the tau priors, their names as metaview writes them,
## and a JSON writer that keeps every double exactly (the shortest of 15 to 17 digits that
## reads back to the same number).

log_prior <- function(family, a, b) {
  switch(family,
    "half-normal" = function(t) log(2) + dnorm(t, 0, a, log = TRUE),
    "half-cauchy" = function(t) log(2) + dcauchy(t, 0, a, log = TRUE),
    "half-t"      = function(t) log(2) + dt(t / a, df = b, log = TRUE) - log(a),
    "exponential" = function(t) dexp(t, rate = a, log = TRUE),
    "uniform"     = function(t) ifelse(t <= a, -log(a), -Inf))
}

prior_text <- function(p) if (p[[1]] == "half-t") sprintf("half-t:%g,%g", p[[2]], p[[3]]) else sprintf("%s:%g", p[[1]], p[[2]])

## ---------------------------------------------------------------- JSON writer
fmt_num <- function(v) {
  vapply(v, function(z) {
    if (is.na(z) || !is.finite(z)) return("null")
    if (z == round(z) && abs(z) < 1e15) return(format(z, scientific = FALSE))
    for (dg in 15:17) {
      s <- sprintf(paste0("%.", dg, "g"), z)
      if (as.numeric(s) == z) return(s)
    }
    s
  }, character(1))
}
fmt_str <- function(v) vapply(v, function(z) as.character(jsonlite::toJSON(z, auto_unbox = TRUE)), character(1))
to_json <- function(x, indent = 0) {
  pad <- strrep(" ", indent + 1)
  if (is.null(x)) return("null")
  if (is.list(x) && !is.data.frame(x)) {
    items <- vapply(x, to_json, character(1), indent = indent + 1)
    if (!is.null(names(x)))
      return(paste0("{\n", paste0(pad, fmt_str(names(x)), ": ", items, collapse = ",\n"), "\n", strrep(" ", indent), "}"))
    return(paste0("[\n", paste0(pad, items, collapse = ",\n"), "\n", strrep(" ", indent), "]"))
  }
  as_array <- inherits(x, "AsIs") || length(x) != 1
  vals <- if (is.numeric(x)) fmt_num(as.numeric(x)) else fmt_str(as.character(x))
  if (as_array) paste0("[", paste(vals, collapse = ", "), "]") else vals
}
