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
## dnorm(theta, mu, tau) dtheta, is computed for all nodes of a rule at once (vectorised, no
## call per node). Let t0 be the integrand's mode (Newton) and s its curvature scale there.
## - s <= 2 (the usual case): the trapezoidal rule after the substitution
##   theta = t0 + min(s, 1) sinh(u) (a double-exponential rule on the whole line), step
##   0.1 / max(1, s) in u;
## - s > 2 (then tau > 2 and the kernel is flat at the mode: x near 0 or near n): the kernel's
##   turn can lie far from the mode, so a composite 12-point Gauss-Legendre rule in theta,
##   with panels of width 2 across |theta| <= 6 + log n (outside it n p (1 - p) < exp(-6), the
##   log kernel is straight) and panels doubling in width outwards up to tau.
## Both stop where the log integrand has fallen 40 below its peak; these cut points are found
## by Newton steps from outside on the concave log integrand, so the tails left out are below
## exp(-40) of the peak. As a check, at 300 nodes of each case's base rule (200 drawn with the
## posterior weight, 100 uniformly) every study's L_i is recomputed by integrate()
## (rel.tol 1e-10) on the two half-lines either side of the mode, one call per node; the
## largest relative difference is written as check$inner.
## The integrals over mu and tau are Gauss-Legendre rules (nodes by the Golub-Welsch
## eigenvalue method) in mapped variables: tau = c0 tan(pi u / 2), u in (0, 1) (tau = MAX u
## under a uniform prior; c0 the DerSimonian-Laird tau of the corrected logits, at least 0.5),
## and at each tau node mu = m0 + S(tau) tan(pi w / 2), w in (-1, 1), with
## S(tau) = sqrt(s0^2 + tau^2) (tau capped at the prior sd under a normal mu prior), since
## given a large tau mu spreads over a width of tau (with a heavy-tailed tau prior and
## studies at x = 0 and x = n the posterior has such tails). A quantile q of mu or tau solves
## F(q) = p by safeguarded Newton steps, where F(q) is a fresh rule over w in [-1, w(q)]
## (mu) or u in [0, u(q)] (tau) and F'(q) the one-dimensional integral of the joint density
## at q. The predictive theta_new's distribution function is the rule for
## E pnorm(t, mu, tau) with the mu axis split, at each tau node, at t and at
## t -/+ min(8 tau, s0), so that the layer where pnorm turns from 0 to 1 has rules of its own;
## F' = E dnorm(t, mu, tau) on the same nodes. Each quantile is checked afterwards with
## rules of 1.25 times the points: the implied error |F_fine(q) - p| / F'(q), divided by
## max(1, |q|) (the test's tolerance is relative), is written beside it ("check").
##
## Time: about 8 minutes for the 17 cases on one core (each case 6-60 s, k = 20 the slowest); run a part with "Rscript make_bayes_binomial_reference.R 3 7" (plan entries) and
## join the parts with "Rscript make_bayes_binomial_reference.R join".

suppressPackageStartupMessages(library(jsonlite))
source("bayes_common.R")  # log_prior, prior_text, to_json
out_file <- "bayes_binomial_reference.json"
N_BASE <- 64L        # points on each outer axis
INNER_DROP <- 40     # the inner lattice stops where the log integrand is this far below its peak
INNER_H <- 0.1       # inner lattice step in u, divided by s when s > 1
INNER_SWITCH <- 2    # above this curvature scale s, the composite rule in theta
INNER_PANEL <- 12L   # its points per panel
CHECK_TOL <- 1e-10   # integrate() tolerance of the inner check
CHECK_NODES <- c(posterior = 200L, uniform = 100L)

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
gl_cache <- list()
glc <- function(n) {  # the rules are reused many times
  key <- as.character(n)
  if (is.null(gl_cache[[key]])) gl_cache[[key]] <<- gl(n)
  gl_cache[[key]]
}


log1pexp <- function(t) pmax(t, 0) + log1p(exp(-abs(t)))

## mode t0 of theta -> kernel(theta) dnorm(theta, mu, tau) and its curvature scale s, for
## vectors mu, tau (same length), one study
inner_mode <- function(x, n, mu, tau) {
  lk <- function(t) x * t - n * log1pexp(t) - (t - mu)^2 / (2 * tau^2)
  y0 <- log((x + 0.5) / (n - x + 0.5))
  v0 <- 1 / (x + 0.5) + 1 / (n - x + 0.5)
  t <- (y0 / v0 + mu / tau^2) / (1 / v0 + 1 / tau^2)
  for (it in 1:100) {  # Newton with backtracking (the log integrand is concave)
    p <- plogis(t)
    g <- x - n * p - (t - mu) / tau^2
    h <- n * p * (1 - p) + 1 / tau^2
    step <- g / h
    now <- lk(t)
    for (half in 1:60) {  # (a change below rounding is not a loss)
      worse <- lk(t + step) < now - 1e-13 * (1 + abs(now))
      if (!any(worse)) break
      step[worse] <- step[worse] / 2
    }
    t <- t + step
    if (all(abs(step) * sqrt(h) <= 1e-9)) break  # in units of the width: the centre need not be exact
  }
  p <- plogis(t)
  list(t = t, s = 1 / sqrt(n * p * (1 - p) + 1 / tau^2), lk = lk)
}

n_inner_points <- 0
## log L_i(mu, tau) for vectors mu, tau (same length), one study, all nodes at once. Where the
## integrand is narrow (s <= INNER_SWITCH): the sinh-substituted trapezoidal rule centred at
## the mode. Where it is wide (s > INNER_SWITCH, so tau > 2: a study with x near 0 or n, whose
## kernel is flat at the mode), the kernel's turn can lie far from the mode; there a composite
## Gauss-Legendre rule in theta, with unit panels across the region where the kernel bends
## (|theta| <= 6 + log n) and panels doubling outwards up to a width of tau.
## the panels of the composite rule for nodes with truncation points lo, hi: width 2 across
## [ta, tb] = [-6 - log n, 6 + log n] (outside it n p (1 - p) < exp(-6): the log kernel is
## straight), then widths 2, 4, 8, ... outwards, at most tau; clipped to [lo, hi]
inner_panels <- function(n, lo, hi, tau) {
  w0 <- 2
  ta <- -6 - max(0, log(n)); tb <- 6 + max(0, log(n))
  E <- seq(ta, tb, length.out = ceiling((tb - ta) / w0) + 1)
  k1 <- pmax(0, ceiling(log2(tau / w0)))
  g <- function(m, i) ifelse(m <= k1[i], w0 * (2^m - 1), w0 * (2^k1[i] - 1) + (m - k1[i]) * tau[i])
  ginv <- function(d, i) ifelse(d <= w0 * (2^k1[i] - 1), log2(d / w0 + 1),
                                k1[i] + (d - w0 * (2^k1[i] - 1)) / tau[i])
  ix <- seq_along(lo)
  side <- function(from, to, sign) {  # panels m = 1, 2, ... at distances [g(m - 1), g(m)] beyond
    m0 <- pmax(1, ceiling(ginv(pmax(from, 0), ix)))  # the edge, meeting distances [from, to]
    m1 <- ifelse(to > 0, ceiling(ginv(pmax(to, 0), ix)), 0)
    cnt <- pmax(0, m1 - m0 + 1)
    i <- rep.int(ix, cnt)
    m <- m0[i] + sequence(cnt) - 1
    list(i = i, d0 = g(m - 1, i), d1 = g(m, i))
  }
  r <- side(lo - tb, hi - tb, 1)
  l <- side(ta - hi, ta - lo, -1)
  mk <- expand.grid(i = ix, k = seq_len(length(E) - 1))
  mk <- mk[E[mk$k + 1] > lo[mk$i] & E[mk$k] < hi[mk$i], ]
  node <- c(l$i, mk$i, r$i)
  a <- c(ta - l$d1, E[mk$k], tb + r$d0)
  b <- c(ta - l$d0, E[mk$k + 1], tb + r$d1)
  a <- pmax(a, lo[node]); b <- pmin(b, hi[node])
  keep <- b > a
  list(node = node[keep], a = a[keep], b = b[keep])
}

log_inner <- function(x, n, mu, tau) {
  md <- inner_mode(x, n, mu, tau)
  t0 <- md$t; s <- md$s; lk <- md$lk
  dlk <- function(t) x - n * plogis(t) - (t - mu) / tau^2
  h0 <- lk(t0)
  cut <- function(side) {  # where lk = h0 - DROP: Newton from outside the root
    t <- t0 + side * s * sqrt(2 * INNER_DROP)
    for (it in 1:100) {
      step <- (lk(t) - h0 + INNER_DROP) / dlk(t)
      t <- t - step
      if (all(abs(step) <= 1e-3 * s)) break
    }
    t
  }
  lo <- cut(-1); hi <- cut(1)
  out <- numeric(length(mu))
  A <- which(s <= INNER_SWITCH)
  if (length(A)) {
    c <- pmin(s[A], 1)
    h <- INNER_H / pmax(1, s[A])
    klo <- ceiling(asinh((t0[A] - lo[A]) / c) / h)
    khi <- ceiling(asinh((hi[A] - t0[A]) / c) / h)
    m <- klo + khi + 1
    j <- rep.int(seq_along(A), m)
    u <- (sequence(m) - 1 - klo[j]) * h[j]
    dz <- c[j] * sinh(u)
    tt <- t0[A][j] + dz
    v <- exp(x * tt - n * log1pexp(tt) - (t0[A][j] - mu[A][j] + dz)^2 / (2 * tau[A][j]^2) -
             h0[A][j]) * cosh(u)
    n_inner_points <<- n_inner_points + length(v)
    S <- as.vector(rowsum(v, j, reorder = TRUE))
    out[A] <- h0[A] + log(S * h * c)
  }
  B <- which(s > INNER_SWITCH)
  if (length(B)) {
    pn <- inner_panels(n, lo[B], hi[B], tau[B])
    g <- glc(INNER_PANEL)
    hw <- (pn$b - pn$a) / 2
    tt <- as.vector(outer(g$x, hw) + rep(pn$a + hw, each = INNER_PANEL))
    j <- rep(pn$node, each = INNER_PANEL)
    v <- exp(x * tt - n * log1pexp(tt) - (tt - mu[B][j])^2 / (2 * tau[B][j]^2) - h0[B][j]) *
      as.vector(outer(g$w, hw))
    n_inner_points <<- n_inner_points + length(v)
    out[B] <- h0[B] + log(as.vector(rowsum(v, j, reorder = TRUE)))
  }
  out - log(tau) - 0.5 * log(2 * pi)
}

## the same by integrate(), one call per node and half-line (for the check only)
log_inner_integrate <- function(x, n, mu, tau) {
  md <- inner_mode(x, n, mu, tau)
  vapply(seq_along(mu), function(j) {
    lk1 <- function(t) x * t - n * log1pexp(t) + dnorm(t, mu[j], tau[j], log = TRUE)
    h0 <- lk1(md$t[j])
    f <- function(z) exp(lk1(md$t[j] + md$s[j] * z) - h0)
    a <- integrate(f, -Inf, 0, rel.tol = CHECK_TOL, abs.tol = 0, subdivisions = 1000L,
                   stop.on.error = FALSE)$value +
      integrate(f, 0, Inf, rel.tol = CHECK_TOL, abs.tol = 0, subdivisions = 1000L,
                stop.on.error = FALSE)$value
    h0 + log(a * md$s[j])
  }, numeric(1))
}

make_model <- function(x, n, family, a, b, mu_prior) {
  lp <- log_prior(family, a, b)
  y0 <- log((x + 0.5) / (n - x + 0.5))
  v0 <- 1 / (x + 0.5) + 1 / (n - x + 0.5)
  m0 <- sum(y0 / v0) / sum(1 / v0)
  s0 <- sqrt(1 / sum(1 / v0)) + if (length(x) > 1) sd(y0) else 1
  # scale of the tau axis: the DerSimonian-Laird estimate on the corrected logits, at least 0.5
  tau_dl <- if (length(x) > 1)
    sqrt(max(0, (sum((y0 - m0)^2 / v0) - (length(x) - 1)) /
                (sum(1 / v0) - sum(1 / v0^2) / sum(1 / v0)))) else 0
  c0 <- if (family == "uniform") a else max(0.5, tau_dl)
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
  u_of_tau <- function(t) if (family == "uniform") t / a else 2 / pi * atan(t / c0)
  # scale of the mu axis at a given tau: given a large tau, mu spreads over a width of tau
  # (no wider than the prior's sd under a normal prior)
  S <- function(tau) {
    wide <- if (is.null(mu_prior)) tau else pmin(tau, mu_prior[2])
    sqrt(s0^2 + wide^2)
  }
  list(lj = lj, tau_map = tau_map, u_of_tau = u_of_tau, S = S, m0 = m0, s0 = s0, c0 = c0,
       family = family, a = a, x = x, n = n)
}

## a rule: nodes (mu, tau) and weights w (incl. jacobians); adds the log joint density l
## and f = exp(l - ref)
evaluate <- function(M, P, ref) {
  P$l <- M$lj(P$mu, P$tau)
  P$f <- exp(P$l - ref)
  P
}

## Every rule is Gauss-Legendre in mapped variables: u in (0, 1) for tau (tau = c0 tan(pi u / 2),
## or MAX u), and, at each tau node, w in (-1, 1) for mu (mu = m0 + S(tau) tan(pi w / 2)),
## on the whole range or on a part of it ([0, u(q)] for F_tau(q), [-1, w(q)] for F_mu(q)), so
## that a quantile far in a heavy tail is integrated as well as one in the middle.
tau_rule <- function(M, N, ua, ub) {
  q <- glc(N); u <- ua + (ub - ua) * (q$x + 1) / 2
  tm <- M$tau_map(u)
  list(x = tm$t, w = q$w * (ub - ua) / 2 * tm$d)
}
tau_full <- function(M, N) tau_rule(M, N, 0, 1)
tau_below <- function(M, N, t) tau_rule(M, N, 0, M$u_of_tau(t))  # [0, t]
w_of_mu <- function(M, m, tau) 2 / pi * atan((m - M$m0) / M$S(tau))
## N mu nodes on w in [wa_j, wb_j] at each node j of the tau rule tt (wa, wb: scalars or one
## per tau node); the weights are the products of the two rules' weights
cond_rule <- function(M, N, tt, wa, wb) {
  k <- length(tt$x)
  wa <- rep_len(wa, k); wb <- rep_len(wb, k)
  q <- glc(N)
  w <- outer(q$x + 1, (wb - wa) / 2) + rep(wa, each = N)
  Sj <- rep(M$S(tt$x), each = N)
  list(mu = as.vector(M$m0 + Sj * tan(pi * w / 2)), tau = rep(tt$x, each = N),
       w = as.vector(outer(q$w, (wb - wa) / 2) * Sj * pi / 2 / cos(pi * w / 2)^2) *
           rep(tt$w, each = N))
}
joined <- function(...) {
  r <- list(...)
  list(mu = unlist(lapply(r, `[[`, "mu")), tau = unlist(lapply(r, `[[`, "tau")),
       w = unlist(lapply(r, `[[`, "w")))
}

posterior <- function(x, n, family, a, b, mu_prior, level, N = N_BASE) {
  M <- make_model(x, n, family, a, b, mu_prior)
  base <- evaluate(M, cond_rule(M, N, tau_full(M, N), -1, 1), 0)
  ref <- max(base$l)
  base$f <- exp(base$l - ref)
  Z <- sum(base$w * base$f)
  probs <- c(0.5, (1 - level) / 2, 1 - (1 - level) / 2)
  start_q <- function(val, wt, p) {  # a starting point only: the weighted nodes' distribution
    o <- order(val); val <- val[o]; wt <- wt[o]  # function, interpolated between midpoints
    cw <- (cumsum(wt) - wt / 2) / sum(wt)
    approx(cw, val, p, rule = 2, ties = "ordered")$y
  }
  Nfine <- as.integer(round(1.25 * N))
  Z_fine <- NULL
  Z_of <- function(NN) {
    if (NN == N) return(Z)
    if (is.null(Z_fine)) {
      P <- evaluate(M, cond_rule(M, Nfine, tau_full(M, Nfine), -1, 1), ref)
      Z_fine <<- sum(P$w * P$f)
    }
    Z_fine
  }
  # each returns c(F(q), F'(q)); F' by the rule of one dimension less at q
  F_mu <- function(m, NN = N) {
    tt <- tau_full(M, NN)
    P <- evaluate(M, cond_rule(M, NN, tt, -1, w_of_mu(M, m, tt$x)), ref)
    d <- sum(tt$w * exp(M$lj(rep(m, length(tt$x)), tt$x) - ref))
    c(sum(P$w * P$f), d) / Z_of(NN)
  }
  F_tau <- function(t, NN = N) {
    P <- evaluate(M, cond_rule(M, NN, tau_below(M, NN, t), -1, 1), ref)
    D <- evaluate(M, cond_rule(M, NN, list(x = t, w = 1), -1, 1), ref)
    c(sum(P$w * P$f), sum(D$w * D$f)) / Z_of(NN)
  }
  # predictive: theta_new | mu, tau ~ N(mu, tau^2). At each tau node the mu axis is split at
  # t and at t -/+ d, d = min(8 tau, s0), so that the layer where pnorm(t, mu, tau) turns
  # has rules of its own. F' = E dnorm(t, mu, tau), on the same nodes.
  F_new <- function(t, NN = N) {
    tt <- tau_full(M, NN)
    d <- pmin(8 * tt$x, M$s0)
    cuts <- cbind(-1, w_of_mu(M, t - d, tt$x), w_of_mu(M, t, tt$x), w_of_mu(M, t + d, tt$x), 1)
    P <- evaluate(M, do.call(joined, lapply(1:4, function(j)
      cond_rule(M, NN, tt, cuts[, j], cuts[, j + 1]))), ref)
    c(sum(P$w * P$f * pnorm(t, P$mu, P$tau)), sum(P$w * P$f * dnorm(t, P$mu, P$tau))) / Z_of(NN)
  }
  newton <- function(Fn, q, p, lower = -Inf) {  # safeguarded: F is increasing
    lo <- lower; hi <- Inf
    for (it in 1:60) {
      v <- Fn(q)
      if (v[1] < p) lo <- q else hi <- q
      step <- (v[1] - p) / v[2]
      qn <- q - step
      # quadratic convergence: a step this small leaves an error of order step^2
      if (is.finite(qn) && abs(step) < 1e-8 * (1 + abs(q))) return(qn)
      if (!is.finite(qn) || qn < lo || qn > hi) {  # outside the bracket: bisect, or widen
        qn <- if (is.finite(lo) && is.finite(hi)) (lo + hi) / 2
              else if (is.finite(lo)) q + max(1, abs(q)) else q - max(1, abs(q))
      }
      q <- qn
    }
    stop("no convergence to the quantile ", p)
  }
  wf <- base$w * base$f
  mu_q <- sapply(probs, function(p) newton(F_mu, start_q(base$mu, wf, p), p))
  tau_q <- sapply(probs, function(p) newton(F_tau, start_q(base$tau, wf, p), p, lower = 0))
  G_new <- function(t) sum(wf * pnorm(t, base$mu, base$tau)) / Z  # base rule: a start only
  new_q <- sapply(probs, function(p)
    newton(F_new, uniroot(function(t) G_new(t) - p, range(base$mu), tol = 1e-6)$root, p))
  check <- function(Fn, q) max(sapply(seq_along(probs), function(j) {  # relative where |q| > 1
    v <- Fn(q[j], Nfine)
    abs(v[1] - probs[j]) / v[2] / max(1, abs(q[j]))
  }))
  # the inner integrals against integrate(), at nodes of the base rule
  set.seed(20240601)
  pick <- unique(c(sample.int(length(base$w), CHECK_NODES[["posterior"]], replace = TRUE,
                              prob = wf),
                   sample.int(length(base$w), CHECK_NODES[["uniform"]])))
  inner_chk <- max(vapply(seq_along(x), function(i) {
    fast <- log_inner(x[i], n[i], base$mu[pick], base$tau[pick])
    slow <- log_inner_integrate(x[i], n[i], base$mu[pick], base$tau[pick])
    max(abs(expm1(fast - slow)))
  }, numeric(1)))
  list(mu = mu_q, tau = tau_q, predictive = new_q,
       check = c(mu = check(F_mu, mu_q), tau = check(F_tau, tau_q),
                 predictive = check(F_new, new_q), inner = inner_chk))
}

## ---------------------------------------------------------------- cases
datasets <- list(
  b1 = list(x = c(3), n = c(10)),
  b2 = list(x = c(2, 9), n = c(15, 14)),
  b3_edges = list(x = c(0, 5, 11), n = c(12, 20, 11)),
  b3_pseudo = list(x = c(5.1, 3, 8.4), n = c(17, 22, 14)),
  b6 = list(x = c(4, 7, 1, 12, 6, 15), n = c(20, 18, 25, 30, 9, 40)),
  b20 = list(x = c(3, 12, 0, 25, 5, 9, 2, 30, 4, 14, 1, 8, 22, 3, 20, 5, 16, 2, 9, 28),
             n = c(45, 60, 28, 110, 52, 75, 31, 140, 48, 66, 19, 80, 95, 40, 160, 58, 70, 25, 88, 120)),
  b6_homog = list(x = c(12, 15, 11, 14, 13, 12), n = c(100, 120, 95, 110, 105, 98)),
  b5_hetero = list(x = c(2, 38, 9, 51, 20), n = c(60, 45, 70, 58, 41)),
  b2_rare = list(x = c(0, 3), n = c(10, 10)),
  b4_rare = list(x = c(0, 0, 0, 2), n = c(10, 10, 10, 10)),
  b3_all = list(x = c(35, 30, 12), n = c(50, 30, 49)),
  b4_all = list(x = c(2, 20, 11, 1), n = c(27, 20, 14, 43))
)
hn <- list("half-normal", 1, NA)
all_priors <- list(hn, list("half-cauchy", 0.5, NA), list("half-t", 1, 3),
                   list("exponential", 2, NA), list("uniform", 4, NA))
## (dataset, tau prior, mu prior): k = 1, 2, 3, 6, 20; every family on the k = 3 set with
## x = 0 and x = n; a normal mu prior; pseudo-counts; tau near 0 (b6_homog) and large (b5_hetero);
## studies at 0 events beside few events (b2_rare, b4_rare: without one study, the rest are all
## at 0 events); a study at all events beside others under half-t (b3_all, b4_all)
plan <- c(
  list(list("b1", hn, NULL), list("b2", hn, NULL), list("b3_pseudo", hn, NULL),
       list("b6", hn, NULL), list("b3_edges", hn, c(0, 2))),
  lapply(all_priors, function(p) list("b3_edges", p, NULL)),
  list(list("b20", hn, NULL), list("b6_homog", hn, NULL), list("b5_hetero", hn, NULL)),
  list(list("b2_rare", hn, NULL), list("b4_rare", list("half-t", 1, 3), NULL)),
  list(list("b3_all", list("half-t", 1, 3), NULL), list("b4_all", list("half-t", 1, 3), NULL)))

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
  cat(sprintf("%2d %-9s %-15s %-6s %6.1fs  check %s\n", ix, dn, prior_text(tp),
              if (is.null(mp)) "flat" else "normal", proc.time()[["elapsed"]] - t0,
              paste(names(r$check), format(r$check, digits = 2), collapse = " ")))
  part <- sprintf("bayes_binomial_reference_part%02d.json", ix)  # each case as it is done
  writeLines(to_json(list(meta = NULL, binomial = cases[length(cases)])), part, useBytes = TRUE)
}

meta <- list(
  R = R.version.string, jsonlite = as.character(packageVersion("jsonlite")),
  method = paste(
    "per-study likelihood L_i(mu, tau) over theta_i, all nodes at once: where the integrand's",
    sprintf("curvature scale s <= %g, the trapezoidal rule in u after theta = mode + min(s, 1) sinh(u),", INNER_SWITCH),
    sprintf("step %g / max(1, s); elsewhere composite %d-point Gauss-Legendre in theta (panels of", INNER_H, INNER_PANEL),
    "width 2 over |theta| <= 6 + log n, doubling outwards up to tau); both cut where the log",
    sprintf("integrand is %g below its peak. mu and tau by Gauss-Legendre rules of %d x %d points,", INNER_DROP, N_BASE, N_BASE),
    "tau = c0 tan(pi u / 2) (MAX u under a uniform prior), mu = m0 + sqrt(s0^2 + tau^2) tan(pi w / 2)",
    "at each tau; quantiles by Newton steps on freshly integrated distribution functions (the",
    "predictive's with the mu axis split at t and t -/+ min(8 tau, s0)). check: mu, tau,",
    sprintf("predictive = implied quantile error with %d x %d points, relative where |q| > 1;",
            round(1.25 * N_BASE), round(1.25 * N_BASE)),
    sprintf("inner = largest relative difference of L_i from integrate(rel.tol = %g) at %d nodes",
            CHECK_TOL, sum(CHECK_NODES))),
  quantities = "each of mu, tau, predictive: c(median, lower, upper) of the central interval at level (logit scale)")

if (length(args) && args[1] != "join") quit(save = "no")
writeLines(to_json(list(meta = meta, binomial = cases)), out_file, useBytes = TRUE)
chk <- jsonlite::fromJSON(out_file, simplifyVector = FALSE)
stopifnot(length(chk$binomial) == length(cases))
cat("wrote", out_file, length(cases), "cases\n")
