# Reference values for tests/test_analysis_reference.py, from Debian's R packages
# (r-base-core, r-cran-nlme, r-cran-metafor, r-cran-lme4, r-cran-lmertest).
# Run from the repository root:  Rscript tests/data/reference.R > tests/data/reference.json
# The project itself never needs R: the tests read reference.json.
suppressPackageStartupMessages({library(nlme); library(metafor); library(lmerTest)})
num <- function(x) sprintf("%.10g", x)
vec <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")
out <- c()

# 1. GLS with AR(1) errors (continuous-time AR(1): correlation phi^|day gap|), REML,
#    phase means without and with a centred study-day trend.
gls_data <- read.csv("tests/data/gls.csv")
gls_data$phase <- factor(gls_data$phase, levels = c("baseline", "placebo", "ldn", "washout"))
series <- c()
for (s in unique(gls_data$series)) {
  d <- gls_data[gls_data$series == s, ]
  d$dayc <- d$day - mean(d$day)
  for (trend in c(FALSE, TRUE)) {
    f <- if (trend) y ~ 0 + phase + dayc else y ~ 0 + phase
    m <- gls(f, data = d, correlation = corAR1(form = ~ day), method = "REML")
    phi <- coef(m$modelStruct$corStruct, unconstrained = FALSE)
    series <- c(series, sprintf(
      '"%s%s": {"phi": %s, "beta": %s, "se": %s, "sigma": %s, "logLik": %s}',
      s, if (trend) "_trend" else "", num(phi), vec(coef(m)), vec(sqrt(diag(vcov(m)))), num(m$sigma),
      num(as.numeric(logLik(m)))))
  }
}
out <- c(out, sprintf('"gls": {%s}', paste(series, collapse = ", ")))

# 2. Random-effects meta-analysis: REML tau^2, Hartung-Knapp; prediction interval; BLUPs.
md <- read.csv("tests/data/meta.csv")
r <- rma(yi, vi, data = md, method = "REML", test = "knha")
pr <- predict(r)
b <- blup(r)
out <- c(out, sprintf(
  '"meta": {"effect": %s, "se": %s, "ci95": %s, "p": %s, "tau2": %s, "i2": %s, "pi": %s, "blup": %s, "blup_se": %s}',
  num(r$beta[1]), num(r$se), vec(c(r$ci.lb, r$ci.ub)), num(r$pval), num(r$tau2), num(r$I2),
  vec(c(pr$pi.lb, pr$pi.ub)), vec(b$pred), vec(b$se)))

# 3. Mixed model: random intercept and random drug effect, REML; Satterthwaite df (lmerTest).
mx <- read.csv("tests/data/mixed.csv")
mx$phase <- factor(mx$phase, levels = c("baseline", "placebo", "ldn", "washout"))
fm <- lmer(value ~ phase + (1 + drug | participant), data = mx, REML = TRUE)
co <- summary(fm)$coefficients
vc <- as.data.frame(VarCorr(fm))
L <- c(0, -1, 1, 0)  # ldn - placebo
ct <- contest1D(fm, L)
out <- c(out, sprintf(
  '"mixed": {"beta": %s, "se": %s, "df": %s, "p": %s, "sd_intercept": %s, "sd_drug": %s, "corr": %s, "sigma": %s, "ldn_vs_placebo": {"estimate": %s, "se": %s, "df": %s, "p": %s}}',
  vec(co[, "Estimate"]), vec(co[, "Std. Error"]), vec(co[, "df"]), vec(co[, "Pr(>|t|)"]),
  num(vc$sdcor[1]), num(vc$sdcor[2]), num(vc$sdcor[3]), num(sigma(fm)),
  num(ct$Estimate), num(ct$`Std. Error`), num(ct$df), num(ct$`Pr(>|t|)`)))

cat("{", paste(out, collapse = ",\n"), "}\n", sep = "\n")
