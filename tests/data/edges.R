# Reference values for the φ-edge and trend tests (tests/test_analysis_edges.py), from Debian's
# r-base-core and r-cran-nlme (3.1-162). Run from the repository root:
#   Rscript tests/data/edges.R > tests/data/edges.json
# The project never needs R: the tests read edges.json. The model is
#   gls(y ~ 0 + phase [+ dayc], correlation = corAR1(form = ~ day), method = "REML"):
# with gaps in `day`, nlme turns corAR1 into corARMA(p = 1, q = 0) on the day lags, so two days g
# apart have correlation phi^g for any phi in (-1, 1). corCAR1(form = ~ day) is the same model for
# phi > 0 only; corAR1() without a form would ignore the gaps.
suppressPackageStartupMessages(library(nlme))
num <- function(x) sprintf("%.10g", x)
vec <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")
levels4 <- c("baseline", "placebo", "ldn", "washout")
fit <- function(d, trend) {
  d$phase <- factor(d$phase, levels = levels4)
  d$dayc <- d$day - mean(d$day)
  f <- if (trend) y ~ 0 + phase + dayc else y ~ 0 + phase
  m <- gls(f, data = d, correlation = corAR1(form = ~ day), method = "REML")
  b <- coef(m)
  # the baseline phase's own level: the fitted values averaged over the baseline's days
  own <- if (trend) b[1] + b[5] * mean(d$dayc[d$phase == "baseline"]) else b[1]
  sprintf('{"phi": %s, "beta": %s, "se": %s, "sigma": %s, "logLik": %s, "baseline_level": %s, "reduction_pct": %s, "vs_placebo_points": %s, "cor_class": "%s"}',
          num(coef(m$modelStruct$corStruct, unconstrained = FALSE)), vec(b), vec(sqrt(diag(vcov(m)))), num(m$sigma),
          num(as.numeric(logLik(m))), num(own), vec(100 * (b[1] - b[2:4]) / abs(own)),
          num(100 * (b[2] - b[3]) / abs(own)), class(m$modelStruct$corStruct)[1])
}
out <- c()
e <- read.csv("tests/data/edges.csv")
for (s in c("hi1", "hi2", "neg")) out <- c(out, sprintf('"%s": %s', s, fit(e[e$series == s, ], FALSE)))
tr <- e[e$series == "trend", ]
out <- c(out, sprintf('"trend": %s', fit(tr, FALSE)), sprintf('"trend_trend": %s', fit(tr, TRUE)))
g <- read.csv("tests/data/gls.csv")
for (s in unique(g$series)) for (trend in c(FALSE, TRUE))
  out <- c(out, sprintf('"gls_%s%s": %s', s, if (trend) "_trend" else "", fit(g[g$series == s, ], trend)))
cat("{\n", paste(out, collapse = ",\n"), "\n}\n", sep = "")
