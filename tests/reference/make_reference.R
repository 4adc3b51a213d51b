## Generate pinned reference numbers from R's metafor (and lme4 / survival)
## for the metaview test-suite.
##
## Run from this folder:   Rscript make_reference.R
## Writes:                 metafor_reference.json
##
## Numbers are written with the shortest decimal representation that
## round-trips to the identical IEEE double (up to 17 significant digits),
## so nothing is lost relative to the values R holds in memory.
## (jsonlite::toJSON caps output at 15 significant digits, so a small
## custom serialiser is used; jsonlite is used to escape strings and to
## validate the written file by reading it back.)

suppressPackageStartupMessages({
  library(metafor)
  library(lme4)
  library(survival)
  library(jsonlite)
})

out_file <- "metafor_reference.json"

## ---------------------------------------------------------------- settings
ctrl <- list(threshold = 1e-10, maxiter = 10000, tol = 1e-12)
ctrl_confint <- list(tol = 1e-12, maxiter = 10000)

measures <- c("PLO", "PLN", "PR", "PAS", "PFT", "CLL")
methods  <- c("FE", "REML", "ML", "DL", "PM", "HS", "SJ", "HE", "EB")
tests    <- c("z", "knha", "adhoc")

## ---------------------------------------------------------------- datasets
datasets <- list(
  pritz1997 = list(x = c(16, 10, 4, 43, 10, 25, 13, 12, 22, 4, 5, 18, 58, 6),
                   n = c(17, 12, 8, 58, 10, 42, 14, 12, 41, 5, 6, 23, 68, 10)),
  miller1978 = list(x = c(3, 6, 10, 1), n = c(11, 17, 21, 6)),
  miller_b = list(x = c(0, 4, 9, 16, 20), n = c(10, 10, 15, 20, 20)),
  stijnen2010 = list(x = c(3, 3, 9, 7, 6, 4, 3, 2, 19, 2, 7, 1, 5, 11, 0, 1, 3, 1),
                     n = c(117, 35, 195, 136, 157, 139, 177, 39, 103, 122, 64, 58,
                           175, 180, 105, 262, 362, 69)),
  k2 = list(x = c(7, 30), n = c(10, 50)),
  zeros_events = list(x = c(0, 5, 12, 3, 9), n = c(8, 5, 20, 15, 9))
)

set.seed(20261123)
n_k20 <- sample(5:100, 20, replace = TRUE)
p_k20 <- plogis(rnorm(20, 0.3, 0.6))
x_k20 <- rbinom(20, n_k20, p_k20)
datasets$k20 <- list(x = as.numeric(x_k20), n = as.numeric(n_k20))

datasets$homog <- list(x = c(10, 20, 30, 5), n = c(40, 80, 120, 20))

## hold-out dataset (not given to the Python engineer)
set.seed(7)
k_h <- 7
n_h <- sample(3:40, k_h, TRUE)
x_h <- rbinom(k_h, n_h, plogis(rnorm(k_h, -0.5, 0.8)))
datasets$holdout <- list(x = as.numeric(x_h), n = as.numeric(n_h))

## ---------------------------------------------------------------- helpers
## evaluate an expression, collecting warnings and turning errors into a value
run <- function(expr) {
  w <- character(0)
  val <- withCallingHandlers(
    tryCatch(expr, error = function(e)
      structure(list(msg = conditionMessage(e)), class = "fitError")),
    warning = function(wn) {
      w <<- c(w, conditionMessage(wn))
      invokeRestart("muffleWarning")
    })
  list(value = val, warnings = unique(w), failed = inherits(val, "fitError"))
}

num1 <- function(v) {           # scalar or NULL
  if (is.null(v) || length(v) == 0) return(NULL)
  v <- as.numeric(v)[1]
  if (is.na(v)) NULL else v
}
numv <- function(v) {           # array (kept as array even if length 1)
  if (is.null(v)) return(NULL)
  I(as.numeric(v))
}

## CLL effect sizes: continuity correction (x+0.5, n+1) only for x==0 or x==n
cll_escalc <- function(x, n) {
  cc <- x == 0 | x == n
  xc <- ifelse(cc, x + 0.5, x)
  nc <- ifelse(cc, n + 1, n)
  p <- xc / nc
  list(yi = log(-log(p)), vi = (1 - p) / (nc * p * log(p)^2))
}

make_call <- function(measure, method, test) {
  if (measure == "CLL") {
    sprintf('rma(yi=yi, vi=vi, method="%s", test="%s", control=ctrl)', method, test)
  } else {
    sprintf('rma(measure="%s", xi=x, ni=n, method="%s", test="%s", control=ctrl)',
            measure, method, test)
  }
}

fit_env <- function(d, measure) {
  e <- new.env(parent = globalenv())
  e$x <- d$x
  e$n <- d$n
  e$ctrl <- ctrl
  if (measure == "CLL") {
    es <- cll_escalc(d$x, d$n)
    e$yi <- es$yi
    e$vi <- es$vi
  }
  e
}

pred_list <- function(p) {
  list(pred = num1(p$pred), se = num1(p$se),
       ci_lb = num1(p$ci.lb), ci_ub = num1(p$ci.ub),
       pi_lb = num1(p$pi.lb), pi_ub = num1(p$pi.ub))
}

skipped <- list()
add_skip <- function(...) skipped[[length(skipped) + 1]] <<- list(...)

## ---------------------------------------------------------------- rma grid
rma_out <- list()
fits <- list()   # keep fitted objects for confint / leave1out / subgroups

for (dn in names(datasets)) {
  d <- datasets[[dn]]
  for (ms in measures) {
    env <- fit_env(d, ms)
    for (me in methods) {
      for (te in tests) {
        cl <- make_call(ms, me, te)
        r <- run(eval(parse(text = cl), envir = env))
        if (r$failed) {
          add_skip(dataset = dn, measure = ms, method = me, test = te,
                   section = "rma", call = cl, error = r$value$msg,
                   warnings = if (length(r$warnings)) I(r$warnings) else NULL)
          next
        }
        res <- r$value
        fits[[paste(dn, ms, me, te, sep = "|")]] <- res
        pr <- run(predict(res))
        entry <- list(
          dataset = dn, measure = ms, method = me, test = te, call = cl,
          yi = numv(res$yi), vi = numv(res$vi),
          weights = numv(weights(res)),
          b = num1(res$beta), se = num1(res$se), zval = num1(res$zval),
          pval = num1(res$pval), ci_lb = num1(res$ci.lb), ci_ub = num1(res$ci.ub),
          ddf = num1(res$ddf),
          tau2 = num1(res$tau2), se_tau2 = num1(res$se.tau2),
          I2 = num1(res$I2), H2 = num1(res$H2),
          QE = num1(res$QE), QEp = num1(res$QEp), k = res$k,
          pred = pred_list(pr$value),
          s2w = num1(res$s2w)
        )
        if (ms == "PFT") {
          pt <- run(predict(res, transf = transf.ipft.hm, targs = list(ni = d$n)))
          entry$pred_ipft_hm <- list(pred = num1(pt$value$pred),
                                     ci_lb = num1(pt$value$ci.lb),
                                     ci_ub = num1(pt$value$ci.ub),
                                     pi_lb = num1(pt$value$pi.lb),
                                     pi_ub = num1(pt$value$pi.ub))
          pr$warnings <- c(pr$warnings, pt$warnings)
        }
        w <- unique(c(r$warnings, pr$warnings))
        entry$warnings <- if (length(w)) I(w) else I(character(0))
        rma_out[[length(rma_out) + 1]] <- entry
      }
    }
  }
}

## ---------------------------------------------------------------- confint
confint_out <- list()
for (dn in names(datasets)) {
  for (ms in measures) {
    for (me in c("REML", "ML", "DL", "PM")) {
      key <- paste(dn, ms, me, "z", sep = "|")
      res <- fits[[key]]
      if (is.null(res)) {
        add_skip(dataset = dn, measure = ms, method = me, test = "z",
                 section = "confint", error = "underlying rma fit failed")
        next
      }
      cc <- ctrl_confint
      r <- run(confint(res, control = cc))
      note <- NULL
      ## if the upper bound hit tau2.max (bound not found), enlarge tau2.max
      default_max <- max(100, res$tau2 * 10)
      tries <- 0
      while (!r$failed && tries < 4 &&
             isTRUE(r$value$random["tau^2", "ci.ub"] >=
                    (if (is.null(cc$tau2.max)) default_max else cc$tau2.max) * (1 - 1e-12))) {
        tries <- tries + 1
        cc$tau2.max <- (if (is.null(cc$tau2.max)) default_max else cc$tau2.max) * 100
        note <- sprintf("upper bound not found below tau2.max; re-run with tau2.max=%g", cc$tau2.max)
        r <- run(confint(res, control = cc))
      }
      if (r$failed) {
        add_skip(dataset = dn, measure = ms, method = me, test = "z",
                 section = "confint", error = r$value$msg)
        next
      }
      rn <- r$value$random
      confint_out[[length(confint_out) + 1]] <- list(
        dataset = dn, measure = ms, method = me, test = "z",
        call = sprintf("confint(res, control=%s)", paste(deparse(cc), collapse = "")),
        tau2 = num1(res$tau2),
        tau2_lb = num1(rn["tau^2", "ci.lb"]), tau2_ub = num1(rn["tau^2", "ci.ub"]),
        tau_lb = num1(rn["tau", "ci.lb"]), tau_ub = num1(rn["tau", "ci.ub"]),
        I2_lb = num1(rn["I^2(%)", "ci.lb"]), I2_ub = num1(rn["I^2(%)", "ci.ub"]),
        H2_lb = num1(rn["H^2", "ci.lb"]), H2_ub = num1(rn["H^2", "ci.ub"]),
        note = note,
        warnings = if (length(r$warnings)) I(r$warnings) else I(character(0))
      )
    }
  }
}

## ---------------------------------------------------------------- leave1out
l1o_out <- list()
for (dn in setdiff(names(datasets), "k2")) {
  for (me in c("REML", "DL", "FE")) {
    for (te in tests) {
      key <- paste(dn, "PLO", me, te, sep = "|")
      res <- fits[[key]]
      if (is.null(res)) {
        add_skip(dataset = dn, measure = "PLO", method = me, test = te,
                 section = "leave1out", error = "underlying rma fit failed")
        next
      }
      r <- run(leave1out(res))
      if (r$failed) {
        add_skip(dataset = dn, measure = "PLO", method = me, test = te,
                 section = "leave1out", error = r$value$msg)
        next
      }
      L <- r$value
      allna <- function(v) if (is.null(v) || all(is.na(v))) NULL else numv(v)
      l1o_out[[length(l1o_out) + 1]] <- list(
        dataset = dn, measure = "PLO", method = me, test = te,
        call = "leave1out(res)",
        estimate = numv(L$estimate), se = numv(L$se), zval = numv(L$zval),
        pval = numv(L$pval), ci_lb = numv(L$ci.lb), ci_ub = numv(L$ci.ub),
        QE = numv(L$Q), QEp = numv(L$Qp),
        tau2 = if (me == "FE") NULL else allna(L$tau2),
        I2 = if (me == "FE") NULL else allna(L$I2),
        H2 = if (me == "FE") NULL else allna(L$H2),
        warnings = if (length(r$warnings)) I(r$warnings) else I(character(0))
      )
    }
  }
}

## ---------------------------------------------------------------- GLMM
glmm_out <- list()
for (dn in names(datasets)) {
  d <- datasets[[dn]]
  for (te in c("z", "t")) {
    cl <- sprintf('rma.glmm(measure="PLO", xi=x, ni=n, method="ML", test="%s")', te)
    env <- fit_env(d, "PLO")
    r <- run(eval(parse(text = cl), envir = env))
    if (r$failed) {
      ## re-run verbosely to capture the underlying glmer error text
      vtxt <- capture.output(
        try(eval(parse(text = sub(")$", ", verbose=TRUE)", cl)), envir = env),
            silent = FALSE), type = "message")
      vtxt <- grep("^Error", vtxt, value = TRUE)
      add_skip(dataset = dn, measure = "PLO", method = "ML", test = te,
               section = "glmm", call = cl, error = r$value$msg,
               detail = if (length(vtxt)) I(trimws(vtxt)) else NULL)
      next
    }
    res <- r$value
    pr <- run(predict(res))
    pt <- run(predict(res, transf = transf.ilogit))
    ## rma.glmm does not store the glmer object; nAGQ is the function default
    ## (formals(rma.glmm)$nAGQ, = 7 in metafor 3.8-1), fitted via lme4::glmer
    nagq_used <- eval(formals(rma.glmm)$nAGQ)
    w <- unique(c(r$warnings, pr$warnings, pt$warnings))
    glmm_out[[length(glmm_out) + 1]] <- list(
      dataset = dn, measure = "PLO", method = "ML", test = te, call = cl,
      nAGQ = num1(nagq_used), package = "lme4",
      b = num1(res$beta), se = num1(res$se), zval = num1(res$zval),
      pval = num1(res$pval), ci_lb = num1(res$ci.lb), ci_ub = num1(res$ci.ub),
      ddf = num1(res$ddf),
      tau2 = num1(res$tau2), se_tau2 = num1(res$se.tau2),
      I2 = num1(res$I2), H2 = num1(res$H2),
      QE_Wld = num1(res$QE.Wld), QEp_Wld = num1(res$QEp.Wld),
      QE_LRT = num1(res$QE.LRT), QEp_LRT = num1(res$QEp.LRT),
      k = res$k,
      pred = pred_list(pr$value),
      pred_ilogit = list(pred = num1(pt$value$pred),
                         ci_lb = num1(pt$value$ci.lb), ci_ub = num1(pt$value$ci.ub),
                         pi_lb = num1(pt$value$pi.lb), pi_ub = num1(pt$value$pi.ub)),
      warnings = if (length(w)) I(w) else I(character(0))
    )
  }
}

## ---------------------------------------------------------------- subgroups
sub_out <- list()
{
  dn <- "pritz1997"
  d <- datasets[[dn]]
  groups <- list(A = 1:7, B = 8:14)
  for (te in tests) {
    gb <- list(); gse <- list(); gcall <- list(); gw <- character(0)
    ok <- TRUE
    for (g in names(groups)) {
      idx <- groups[[g]]
      cl <- sprintf('rma(measure="PLO", xi=x[c(%s)], ni=n[c(%s)], method="REML", test="%s", control=ctrl)',
                    paste(idx, collapse = ","), paste(idx, collapse = ","), te)
      env <- fit_env(d, "PLO")
      r <- run(eval(parse(text = cl), envir = env))
      if (r$failed) {
        ok <- FALSE
        add_skip(dataset = dn, measure = "PLO", method = "REML", test = te,
                 section = "subgroups", call = cl, error = r$value$msg)
        break
      }
      gb[[g]] <- num1(r$value$beta); gse[[g]] <- num1(r$value$se)
      gcall[[g]] <- cl; gw <- c(gw, r$warnings)
    }
    if (!ok) next
    qcall <- "rma(yi=c(b_A,b_B), sei=c(se_A,se_B), method=\"FE\")"
    rq <- run(rma(yi = c(gb$A, gb$B), sei = c(gse$A, gse$B), method = "FE"))
    sub_out[[length(sub_out) + 1]] <- list(
      dataset = dn, measure = "PLO", method = "REML", test = te,
      groups = list(A = I(groups$A), B = I(groups$B)),
      group_calls = gcall,
      group_b = gb, group_se = gse,
      between_call = qcall,
      q_between = num1(rq$value$QE), df = 1L, pvalue = num1(rq$value$QEp),
      pvalue_check = pchisq(rq$value$QE, df = 1, lower.tail = FALSE),
      warnings = if (length(c(gw, rq$warnings))) I(unique(c(gw, rq$warnings))) else I(character(0))
    )
  }
}

## ---------------------------------------------------------------- survival
## Freireich 6-MP arm (+ = censored)
surv_time   <- c(6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35)
surv_status <- c(1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0)
surv_out <- list()
for (ct in c("log-log", "log", "plain", "logit")) {
  r <- run(survfit(Surv(surv_time, surv_status) ~ 1, conf.type = ct))
  if (r$failed) {
    add_skip(dataset = "freireich_6mp", section = "survival", conf_type = ct,
             error = r$value$msg)
    next
  }
  fit <- r$value
  for (tt in c(12, 23)) {
    s <- summary(fit, times = tt)
    j <- max(which(fit$time <= tt))        # step in effect at time tt
    se_H <- fit$std.err[j]                 # SE of cumulative hazard (= SE of log S)
    S <- fit$surv[j]
    surv_out[[length(surv_out) + 1]] <- list(
      conf_type = ct, time = tt,
      surv = num1(s$surv), lower = num1(s$lower), upper = num1(s$upper),
      std_err = num1(se_H),
      std_err_surv_scale = num1(s$std.err),
      se_loglog = num1(se_H / abs(log(S))),
      n_risk = num1(s$n.risk), n_event_cum = num1(sum(fit$n.event[fit$time <= tt])),
      conf_int = fit$conf.int,
      warnings = if (length(r$warnings)) I(r$warnings) else I(character(0))
    )
  }
}

## ---------------------------------------------------------------- meta
meta <- list(
  R_version = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  lme4 = as.character(packageVersion("lme4")),
  survival = as.character(packageVersion("survival")),
  jsonlite = as.character(packageVersion("jsonlite")),
  control = ctrl,
  control_confint = ctrl_confint,
  escalc_defaults = list(add = 0.5, to = "only0",
                         note = "metafor applies add=0 for PAS and PFT (no correction)"),
  cll_definition = "if x==0 or x==n use x+0.5 and n+1 (those studies only); p=x/n; yi=log(-log(p)); vi=(1-p)/(n*p*log(p)^2); rma(yi, vi, ...)",
  units = "weights, I2, I2_lb/I2_ub are in percent (as metafor reports them)",
  counts = list(rma = length(rma_out), confint = length(confint_out),
                leave1out = length(l1o_out), glmm = length(glmm_out),
                subgroups = length(sub_out), survival = length(surv_out),
                skipped = length(skipped))
)

ds_json <- lapply(datasets, function(d) list(x = I(d$x), n = I(d$n)))

result <- list(meta = meta, datasets = ds_json, rma = rma_out,
               confint = confint_out, leave1out = l1o_out, glmm = glmm_out,
               subgroups = sub_out, survival = surv_out, skipped = skipped)

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
fmt_str <- function(v) {
  vapply(v, function(z) {
    if (is.na(z)) "null" else as.character(jsonlite::toJSON(z, auto_unbox = TRUE))
  }, character(1))
}
to_json <- function(x, indent = 0) {
  pad <- strrep(" ", indent + 1)
  if (is.null(x)) return("null")
  if (is.list(x) && !is.data.frame(x)) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    items <- vapply(x, to_json, character(1), indent = indent + 1)
    if (!is.null(names(x))) {
      return(paste0("{\n", paste0(pad, fmt_str(names(x)), ": ", items, collapse = ",\n"),
                    "\n", strrep(" ", indent), "}"))
    }
    return(paste0("[\n", paste0(pad, items, collapse = ",\n"), "\n", strrep(" ", indent), "]"))
  }
  as_array <- inherits(x, "AsIs") || length(x) != 1
  if (is.logical(x)) vals <- ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  else if (is.numeric(x)) vals <- fmt_num(as.numeric(x))
  else vals <- fmt_str(as.character(x))
  if (as_array) paste0("[", paste(vals, collapse = ", "), "]") else vals
}

txt <- to_json(result)
writeLines(txt, out_file, useBytes = TRUE)

## validate: read back and check a couple of numbers round-trip exactly
chk <- jsonlite::fromJSON(out_file, simplifyVector = FALSE)
stopifnot(length(chk$rma) == length(rma_out))
stopifnot(identical(chk$rma[[1]]$b, rma_out[[1]]$b))

cat("wrote", out_file, "(", file.size(out_file), "bytes )\n")
str(meta$counts)
cat("skipped:", length(skipped), "\n")
for (s in skipped) cat(" -", paste(unlist(s[c("section", "dataset", "measure", "method", "test", "conf_type")]), collapse = " / "),
                       ":", s$error, paste(s$detail, collapse = " | "), "\n")
