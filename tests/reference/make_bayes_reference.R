## Reference posteriors of the Bayesian normal-normal random-effects model, computed by
## direct numerical integration in base R (integrate, uniroot), independently of metaview.
##
## Run from this folder:   Rscript make_bayes_reference.R
## Writes:                 bayes_reference.json
##
## Model: y_i ~ N(theta_i, v_i), theta_i ~ N(mu, tau^2); mu flat or N(M, S^2); a proper
## prior on tau. Given tau, mu is normal with mean m(tau) and variance V(tau), and
##   p(tau | y) ~ p(tau) prod(v_i + tau^2)^(-1/2) V(tau)^(1/2) exp(-Q(tau) / 2),
## so every posterior distribution function is a one-dimensional integral over tau.

suppressPackageStartupMessages(library(jsonlite))
source("bayes_common.R")  # log_prior, prior_text, to_json
out_file <- "bayes_reference.json"
REL <- 1e-12  # integrate() relative tolerance
ROOT_TOL <- 1e-13


terms <- function(t, y, v, mu_prior) {
  # per tau: conditional mean and variance of mu, and the log marginal likelihood
  sapply(t, function(tt) {
    w <- 1 / (v + tt^2)
    sw <- sum(w); swy <- sum(w * y)
    if (!is.null(mu_prior)) { sw <- sw + 1 / mu_prior[2]^2; swy <- swy + mu_prior[1] / mu_prior[2]^2 }
    m <- swy / sw
    q <- sum(w * (y - m)^2)
    if (!is.null(mu_prior)) q <- q + (mu_prior[1] - m)^2 / mu_prior[2]^2
    c(m = m, V = 1 / sw, ll = 0.5 * sum(log(w)) - 0.5 * log(sw) - 0.5 * q)
  })
}

posterior <- function(y, v, family, a, b, mu_prior, level) {
  lp <- log_prior(family, a, b)
  upper <- if (family == "uniform") a else Inf
  # the log posterior's maximum, to scale the integrand and to split the range there
  lpost <- function(t) terms(t, y, v, mu_prior)["ll", ] + lp(t)
  top <- if (family == "uniform") a else 100
  opt <- optimize(lpost, c(0, top), maximum = TRUE, tol = 1e-10)
  peak <- max(opt$objective, lpost(0))
  mode <- if (lpost(0) >= opt$objective) 0 else opt$maximum
  dens <- function(t) exp(lpost(t) - peak)
  # split points around the mode keep integrate() from missing a narrow peak
  cuts <- sort(unique(c(0, mode * c(0.25, 0.5, 0.8, 1, 1.25, 2, 4), 0.05, 0.25, 1, 4, 16)))
  cuts <- cuts[cuts < upper]
  integ <- function(f, lo, hi) {
    pts <- c(lo, cuts[cuts > lo & cuts < hi], hi)
    s <- 0
    for (j in seq_len(length(pts) - 1))
      s <- s + integrate(f, pts[j], pts[j + 1], rel.tol = REL, abs.tol = 0,
                         subdivisions = 2000L, stop.on.error = TRUE)$value
    s
  }
  Z <- integ(dens, 0, upper)
  tau_cdf <- function(q) integ(dens, 0, q) / Z
  mix_cdf <- function(x, extra) {
    integ(function(t) {
      tt <- terms(t, y, v, mu_prior)
      dens(t) * pnorm(x, tt["m", ], sqrt(tt["V", ] + extra(t)))
    }, 0, upper) / Z
  }
  solve <- function(cdf, p, lo, hi) {
    while (cdf(lo) > p) lo <- lo - (hi - lo)
    while (cdf(hi) < p) hi <- hi + (hi - lo)
    uniroot(function(x) cdf(x) - p, c(lo, hi), tol = ROOT_TOL, maxiter = 1000)$root
  }
  probs <- c(0.5, (1 - level) / 2, 1 - (1 - level) / 2)
  tau_q <- sapply(probs, function(p) {
    hi <- if (family == "uniform") a else 1
    if (family != "uniform") while (tau_cdf(hi) < p) hi <- hi * 4
    uniroot(function(q) tau_cdf(q) - p, c(0, hi), tol = ROOT_TOL, maxiter = 1000)$root
  })
  ctr <- mean(y); w <- 4 * sqrt(max(v)) + 1
  mu_q <- sapply(probs, function(p) solve(function(x) mix_cdf(x, function(t) 0), p, ctr - w, ctr + w))
  new_q <- sapply(probs, function(p) solve(function(x) mix_cdf(x, function(t) t^2), p, ctr - w, ctr + w))
  # shrunken first study: theta_1 | tau normal
  sh_cdf <- function(x) {
    integ(function(t) {
      tt <- terms(t, y, v, mu_prior)
      B <- v[1] / (v[1] + t^2)
      dens(t) * pnorm(x, B * tt["m", ] + (1 - B) * y[1],
                      sqrt(v[1] * (1 - B) + B^2 * tt["V", ]))
    }, 0, upper) / Z
  }
  sh_q <- sapply(probs, function(p) solve(sh_cdf, p, ctr - w, ctr + w))
  list(mu = mu_q, tau = tau_q, predictive = new_q, shrunk_first = sh_q)
}

## ---------------------------------------------------------------- cases
datasets <- list(
  k1 = list(y = c(0.4), v = c(0.2)),
  k2 = list(y = c(-0.3, 0.9), v = c(0.12, 0.3)),
  k3 = list(y = c(0.36, 0.05, 0.62), v = c(0.05, 0.21, 0.11)),
  k6_tau0 = list(y = c(0.30, 0.32, 0.29, 0.31, 0.30, 0.33), v = c(0.04, 0.06, 0.05, 0.08, 0.03, 0.07)),
  k6_large = list(y = c(-2.1, 0.4, 1.9, -0.8, 2.6, 0.1), v = c(0.09, 0.05, 0.12, 0.07, 0.2, 0.06)),
  k20 = list(y = round(sin(1:20 * 1.7) * 1.1 + 0.2, 3), v = round(0.04 + (1:20 %% 5) * 0.03, 3))
)
tau_priors <- list(
  list("half-normal", 1, NA), list("half-cauchy", 0.5, NA), list("half-t", 1, 3),
  list("exponential", 2, NA), list("uniform", 4, NA))

cases <- list()
for (dn in names(datasets)) {
  d <- datasets[[dn]]
  for (tp in tau_priors) {
    for (mp in list(NULL, c(0, 2))) {
      if (!is.null(mp) && tp[[1]] != "half-normal") next
      level <- 0.95
      r <- posterior(d$y, d$v, tp[[1]], tp[[2]], tp[[3]], mp, level)
      cases[[length(cases) + 1]] <- c(list(
        dataset = dn, y = I(d$y), v = I(d$v), tau_prior = prior_text(tp),
        mu_prior = if (is.null(mp)) "flat" else sprintf("normal:%g,%g", mp[1], mp[2]),
        level = level), lapply(r, I))
      cat(dn, prior_text(tp), if (is.null(mp)) "flat" else "normal", "\n")
    }
  }
}

meta <- list(
  R = R.version.string, jsonlite = as.character(packageVersion("jsonlite")),
  method = paste("integrate(rel.tol = 1e-12) over tau, split around the posterior mode;",
                 "quantiles by uniroot(tol = 1e-13) on the distribution functions"),
  quantities = "each of mu, tau, predictive, shrunk_first: c(median, lower, upper) of the central interval at level")

writeLines(to_json(list(meta = meta, normal = cases)), out_file, useBytes = TRUE)
chk <- jsonlite::fromJSON(out_file, simplifyVector = FALSE)
stopifnot(length(chk$normal) == length(cases))
cat("wrote", out_file, length(cases), "cases\n")
