## Reference posteriors of the Bayesian binomial-normal random-effects model, computed by
## direct numerical integration in base R, independently of metaview.
##
## Run from this folder:   Rscript make_bayes_binomial_reference.R
## Writes:                 bayes_binomial_reference.json
##
## Model: x_i ~ Bin(n_i, plogis(theta_i)) (x_i may be non-integer: the kernel
## p^x (1 - p)^(n - x)), theta_i ~ N(mu, tau^2); mu flat or N(M, S^2); a proper prior on tau.
##
## Method. The likelihood of study i at (mu, tau), L_i(mu, tau) = int kernel_i(theta)
## dnorm(theta, mu, tau) dtheta, is computed by integrate() (rel.tol 1e-10) on the two
## half-lines either side of the integrand's mode, in units of its curvature. The integrals
## over mu and tau are Gauss-Legendre product rules (nodes by the Golub-Welsch eigenvalue
## method) on tangent-mapped axes: mu = m0 + s0 tan(pi w / 2), tau = c tan(pi u / 2) (tau = MAX u
## under a uniform prior). A quantile q of mu or tau solves F(q) = p by Newton steps, where
## F(q) is a fresh product rule over (-Inf, q] (mu) or [0, q] (tau) and F'(q) the
## one-dimensional integral of the joint density at q; the predictive theta_new's
## distribution function, the product rule of pnorm(t, mu, tau) split at mu = t, by secant
## steps. Each
## quantile is checked afterwards with a product rule of 1.25 times the points: the implied
## error |F_fine(q) - p| / F'(q) is written beside it ("check").

suppressPackageStartupMessages(library(jsonlite))
out_file <- "bayes_binomial_reference.json"
INNER_TOL <- 1e-10
N_BASE <- 48L

gl <- function(n) {
  i <- seq_len(n - 1)
  b <- i / sqrt(4 * i^2 - 1)
  J <- matrix(0, n, n)
  J[cbind(i, i + 1)] <- b
  J[cbind(i + 1, i)] <- b
  e <- eigen(J, symmetric = TRUE)
  o <- order(e$values)
  list(x = e$values[o], w = 2 * e$vectors[1, o]^2)
}

log_prior <- function(family, a, b) {
  switch(family,
    "half-normal" = function(t) log(2) + dnorm(t, 0, a, log = TRUE),
    "half-cauchy" = function(t) log(2) + dcauchy(t, 0, a, log = TRUE),
    "half-t"      = function(t) log(2) + dt(t / a, df = b, log = TRUE) - log(a),
    "exponential" = function(t) dexp(t, rate = a, log = TRUE),
    "uniform"     = function(t) ifelse(t <= a, -log(a), -Inf))
}

log1pexp <- function(t) pmax(t, 0) + log1p(exp(-abs(t)))

## log L_i(mu, tau) for vectors mu, tau (same length), one study
log_inner <- function(x, n, mu, tau) {
  lk <- function(t, m, s) x * t - n * log1pexp(t) + dnorm(t, m, s, log = TRUE)
  y0 <- log((x + 0.5) / (n - x + 0.5))
  v0 <- 1 / (x + 0.5) + 1 / (n - x + 0.5)
  t <- (y0 / v0 + mu / tau^2) / (1 / v0 + 1 / tau^2)
  for (it in 1:60) {  # Newton with backtracking to the mode (it centres and scales the integral)
    p <- plogis(t)
    g <- x - n * p - (t - mu) / tau^2
    h <- n * p * (1 - p) + 1 / tau^2
    step <- g / h
    now <- lk(t, mu, tau)
    for (half in 1:40) {
      worse <- lk(t + step, mu, tau) < now
      if (!any(worse)) break
      step[worse] <- step[worse] / 2
    }
    t <- t + step
  }
  p <- plogis(t)
  s <- 1 / sqrt(n * p * (1 - p) + 1 / tau^2)
  out <- numeric(length(mu))
  for (j in seq_along(mu)) {
    h0 <- lk(t[j], mu[j], tau[j])
    f <- function(z) exp(lk(t[j] + s[j] * z, mu[j], tau[j]) - h0)
    a <- integrate(f, -Inf, 0, rel.tol = INNER_TOL, abs.tol = 0, subdivisions = 1000L, stop.on.error = FALSE)$value +
      integrate(f, 0, Inf, rel.tol = INNER_TOL, abs.tol = 0, subdivisions = 1000L, stop.on.error = FALSE)$value
    out[j] <- h0 + log(a * s[j])
  }
  out
}

make_model <- function(x, n, family, a, b, mu_prior) {
  lp <- log_prior(family, a, b)
  y0 <- log((x + 0.5) / (n - x + 0.5))
  v0 <- 1 / (x + 0.5) + 1 / (n - x + 0.5)
  m0 <- sum(y0 / v0) / sum(1 / v0)
  s0 <- sqrt(1 / sum(1 / v0)) + if (length(x) > 1) sd(y0) else 1
  c0 <- if (family == "uniform") a else 0.5
  # log joint density of (mu, tau) at paired vectors (prior x likelihood)
  lj <- function(mu, tau) {
    s <- lp(tau)
    if (!is.null(mu_prior)) s <- s + dnorm(mu, mu_prior[1], mu_prior[2], log = TRUE)
    for (i in seq_along(x)) s <- s + log_inner(x[i], n[i], mu, tau)
    s
  }
  tau_map <- function(u) {  # u in (0, 1) -> tau, dtau/du
    if (family == "uniform") list(t = a * u, d = rep(a, length(u)))
    else list(t = c0 * tan(pi * u / 2), d = c0 * pi / 2 / cos(pi * u / 2)^2)
  }
  list(lj = lj, tau_map = tau_map, m0 = m0, s0 = s0, c0 = c0, family = family, a = a)
}

## product rule: mu nodes (with weights incl. jacobian), tau nodes; returns the node
## values of the joint density relative to exp(ref)
product <- function(M, mu, wmu, tau, wtau, ref) {
  g <- expand.grid(a = seq_along(mu), b = seq_along(tau))
  l <- M$lj(mu[g$a], tau[g$b])
  list(mu = mu[g$a], tau = tau[g$b], w = wmu[g$a] * wtau[g$b], f = exp(l - ref), l = l)
}

mu_full <- function(M, N) {
  q <- gl(N)
  list(x = M$m0 + M$s0 * tan(pi * q$x / 2), w = q$w * M$s0 * pi / 2 / cos(pi * q$x / 2)^2)
}
mu_below <- function(M, N, m) {  # (-Inf, m]: mu = m - s0 tan(pi v / 2), v in (0, 1)
  q <- gl(N); v <- (q$x + 1) / 2
  list(x = m - M$s0 * tan(pi * v / 2), w = q$w / 2 * M$s0 * pi / 2 / cos(pi * v / 2)^2)
}
tau_full <- function(M, N) {
  q <- gl(N); u <- (q$x + 1) / 2
  tm <- M$tau_map(u)
  list(x = tm$t, w = q$w / 2 * tm$d)
}
tau_below <- function(M, N, t) {  # [0, t], linear
  q <- gl(N)
  list(x = t * (q$x + 1) / 2, w = q$w * t / 2)
}

posterior <- function(x, n, family, a, b, mu_prior, level) {
  M <- make_model(x, n, family, a, b, mu_prior)
  N <- N_BASE
  mf <- mu_full(M, N); tf <- tau_full(M, N)
  base <- product(M, mf$x, mf$w, tf$x, tf$w, 0)
  ref <- max(base$l)
  base$f <- exp(base$l - ref)
  Z <- sum(base$w * base$f)
  probs <- c(0.5, (1 - level) / 2, 1 - (1 - level) / 2)
  rough_q <- function(val, wt, p) {  # quantile of a weighted sample, a starting point only
    o <- order(val); cw <- cumsum(wt[o]) / sum(wt)
    val[o][which(cw >= p)[1]]
  }
  Nfine <- as.integer(1.25 * N)
  fine <- NULL
  Z_fine <- function() {
    if (is.null(fine)) {
      mf2 <- mu_full(M, Nfine); tf2 <- tau_full(M, Nfine)
      fine <<- product(M, mf2$x, mf2$w, tf2$x, tf2$w, ref)
    }
    sum(fine$w * fine$f)
  }
  F_mu <- function(m, NN = N) {
    mb <- mu_below(M, NN, m); tt <- tau_full(M, NN)
    P <- product(M, mb$x, mb$w, tt$x, tt$w, ref)
    if (NN == N) sum(P$w * P$f) / Z else sum(P$w * P$f) / Z_fine()
  }
  f_mu <- function(m) {
    tt <- tau_full(M, N)
    sum(tt$w * exp(M$lj(rep(m, length(tt$x)), tt$x) - ref)) / Z
  }
  F_tau <- function(t, NN = N) {
    mm <- mu_full(M, NN); tb <- tau_below(M, NN, t)
    P <- product(M, mm$x, mm$w, tb$x, tb$w, ref)
    if (NN == N) sum(P$w * P$f) / Z else sum(P$w * P$f) / Z_fine()
  }
  f_tau <- function(t) {
    mm <- mu_full(M, N)
    sum(mm$w * exp(M$lj(mm$x, rep(t, length(mm$x))) - ref)) / Z
  }
  newton <- function(Fn, fn, q, p, lower = -Inf) {
    for (it in 1:12) {
      step <- (Fn(q) - p) / fn(q)
      qn <- q - step
      if (qn <= lower) qn <- (q + lower) / 2
      q <- qn
      if (abs(step) < 1e-11 * (1 + abs(q))) break
    }
    q
  }
  mu_q <- sapply(probs, function(p) newton(F_mu, f_mu, rough_q(base$mu, base$w * base$f, p), p))
  mu_chk <- sapply(seq_along(probs), function(j) abs(F_mu(mu_q[j], Nfine) - probs[j]) / f_mu(mu_q[j]))
  tau_q <- sapply(probs, function(p) newton(F_tau, f_tau, rough_q(base$tau, base$w * base$f, p),
                                            p, lower = 0))
  tau_chk <- sapply(seq_along(probs), function(j) abs(F_tau(tau_q[j], Nfine) - probs[j]) / f_tau(tau_q[j]))
  # predictive: theta_new | mu, tau ~ N(mu, tau^2); the mu axis split at t, so that the
  # kernel pnorm(t, mu, tau) is smooth on each side but for a layer of width tau at the end
  F_new <- function(t, NN = N) {
    tt <- tau_full(M, NN)
    mb <- mu_below(M, NN, t)
    ma <- mu_below(M, NN, -t)
    ma$x <- -ma$x  # [t, Inf)
    Pb <- product(M, mb$x, mb$w, tt$x, tt$w, ref)
    Pa <- product(M, ma$x, ma$w, tt$x, tt$w, ref)
    s <- sum(Pb$w * Pb$f * pnorm(t, Pb$mu, Pb$tau)) + sum(Pa$w * Pa$f * pnorm(t, Pa$mu, Pa$tau))
    s / if (NN == N) Z else Z_fine()
  }
  secant <- function(Fn, q0, q1, p) {
    f0 <- Fn(q0) - p
    for (it in 1:30) {
      f1 <- Fn(q1) - p
      if (f1 == f0) break
      q2 <- q1 - f1 * (q1 - q0) / (f1 - f0)
      q0 <- q1; f0 <- f1; q1 <- q2
      if (abs(q1 - q0) < 1e-11 * (1 + abs(q1))) break
    }
    q1
  }
  new_q <- sapply(probs, function(p) {
    q0 <- rough_q(base$mu + base$tau * qnorm(p), base$w * base$f, p)
    q0 <- if (p == 0.5) mu_q[1] else q0
    secant(F_new, q0, q0 + 0.01 * M$s0, p)
  })
  new_chk <- sapply(seq_along(probs), function(j) {
    dens <- sum(base$w * base$f * dnorm(new_q[j], base$mu, base$tau)) / Z  # approximate
    abs(F_new(new_q[j], Nfine) - probs[j]) / dens
  })
  list(mu = mu_q, tau = tau_q, predictive = new_q,
       check = c(mu = max(mu_chk), tau = max(tau_chk), predictive = max(new_chk)))
}

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
## ---------------------------------------------------------------- cases
datasets <- list(
  b1 = list(x = c(3), n = c(10)),
  b2 = list(x = c(2, 9), n = c(15, 14)),
  b3_edges = list(x = c(0, 5, 11), n = c(12, 20, 11)),
  b3_pseudo = list(x = c(5.1, 3, 8.4), n = c(17, 22, 14)),
  b6 = list(x = c(4, 7, 1, 12, 6, 15), n = c(20, 18, 25, 30, 9, 40))
)
hn <- list("half-normal", 1, NA)
all_priors <- list(hn, list("half-cauchy", 0.5, NA), list("half-t", 1, 3),
                   list("exponential", 2, NA), list("uniform", 4, NA))
## (dataset, tau prior, mu prior): every family on the k = 3 set with x = 0 and x = n
plan <- c(
  list(list("b1", hn, NULL), list("b2", hn, NULL), list("b3_pseudo", hn, NULL),
       list("b6", hn, NULL), list("b3_edges", hn, c(0, 2))),
  lapply(all_priors, function(p) list("b3_edges", p, NULL)))
prior_text <- function(p) if (p[[1]] == "half-t") sprintf("half-t:%g,%g", p[[2]], p[[3]]) else sprintf("%s:%g", p[[1]], p[[2]])

## optional arguments: the numbers of the plan entries to compute (for a split run; the
## pieces are then joined with "Rscript make_bayes_binomial_reference.R join")
args <- commandArgs(trailingOnly = TRUE)
only <- if (length(args) && args[1] != "join") as.integer(args) else seq_along(plan)
cases <- list()
if (length(args) && args[1] == "join") {
  for (f in sort(Sys.glob("bayes_binomial_reference_part*.json")))
    for (cs in jsonlite::fromJSON(f, simplifyVector = FALSE)$binomial) cases[[length(cases) + 1]] <- cs
  cases <- lapply(cases, function(cs) {
    for (nm in c("x", "n", "mu", "tau", "predictive")) cs[[nm]] <- I(unlist(cs[[nm]]))
    cs
  })
} else for (ix in only) {
  pl <- plan[[ix]]
  dn <- pl[[1]]; d <- datasets[[dn]]
  tp <- pl[[2]]; mp <- pl[[3]]
  level <- 0.95
  t0 <- proc.time()[["elapsed"]]
  r <- posterior(d$x, d$n, tp[[1]], tp[[2]], tp[[3]], mp, level)
  cases[[length(cases) + 1]] <- c(list(
    dataset = dn, x = I(d$x), n = I(d$n), tau_prior = prior_text(tp),
    mu_prior = if (is.null(mp)) "flat" else sprintf("normal:%g,%g", mp[1], mp[2]),
    level = level), lapply(r[c("mu", "tau", "predictive")], I),
    list(check = as.list(r$check)))
  cat(dn, prior_text(tp), if (is.null(mp)) "flat" else "normal",
      sprintf("%.1fs", proc.time()[["elapsed"]] - t0), "check", format(r$check, digits = 2), "\n")
  part <- sprintf("bayes_binomial_reference_part%02d.json", ix)  # each case as it is done
  writeLines(to_json(list(meta = NULL, binomial = cases[length(cases)])), part, useBytes = TRUE)
}

meta <- list(
  R = R.version.string, jsonlite = as.character(packageVersion("jsonlite")),
  method = paste("per-study likelihood by integrate(rel.tol = 1e-10) over theta_i;",
                 sprintf("mu and tau by %d x %d Gauss-Legendre product rules on tangent-mapped axes;", N_BASE, N_BASE),
                 "mu and tau quantiles by Newton steps on freshly integrated distribution functions,",
                 "predictive quantiles by secant steps; check = implied quantile error with 1.25x the points"),
  quantities = "each of mu, tau, predictive: c(median, lower, upper) of the central interval at level (logit scale)")

if (length(args) && args[1] != "join") quit(save = "no")
writeLines(to_json(list(meta = meta, binomial = cases)), out_file, useBytes = TRUE)
chk <- jsonlite::fromJSON(out_file, simplifyVector = FALSE)
stopifnot(length(chk$binomial) == length(cases))
cat("wrote", out_file, length(cases), "cases\n")
