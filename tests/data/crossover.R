# The two-period crossover analysis pinned against R's lm (tests/test_analysis_crossover.py reads
# crossover.json; the tests never need R). Run from tests/data: Rscript crossover.R
d <- read.csv("crossover.csv")
long <- rbind(
  data.frame(participant = d$participant_id, period = 1,
             treatment = ifelse(d$first == "active", "active", "placebo"),
             y = ifelse(d$first == "active", d$active_mean, d$placebo_mean)),
  data.frame(participant = d$participant_id, period = 2,
             treatment = ifelse(d$first == "active", "placebo", "active"),
             y = ifelse(d$first == "active", d$placebo_mean, d$active_mean)))
long$period <- factor(long$period, levels = c(2, 1))       # coefficient: period 1 - period 2
long$treatment <- factor(long$treatment, levels = c("placebo", "active"))  # coefficient: active - placebo
fit <- lm(y ~ factor(participant) + period + treatment, data = long)
s <- coef(summary(fit))
ci <- confint(fit)
d$total <- d$active_mean + d$placebo_mean
d$group <- factor(d$first, levels = c("placebo", "active"))  # coefficient: drug-first - placebo-first
carry <- lm(total ~ group, data = d)
sc <- coef(summary(carry))
cc <- confint(carry)
num <- function(x) formatC(x, digits = 15, format = "g")
out <- c(
  sprintf('"treatment": {"estimate": %s, "se": %s, "p": %s, "ci95": [%s, %s], "df": %d}',
          num(s["treatmentactive", 1]), num(s["treatmentactive", 2]), num(s["treatmentactive", 4]),
          num(ci["treatmentactive", 1]), num(ci["treatmentactive", 2]), fit$df.residual),
  sprintf('"period": {"estimate": %s, "se": %s, "p": %s}',
          num(s["period1", 1]), num(s["period1", 2]), num(s["period1", 4])),
  sprintf('"carryover": {"estimate": %s, "se": %s, "p": %s, "ci95": [%s, %s]}',
          num(sc["groupactive", 1]), num(sc["groupactive", 2]), num(sc["groupactive", 4]),
          num(cc["groupactive", 1]), num(cc["groupactive", 2])),
  sprintf('"r_version": "%s"', R.version.string))
writeLines(c("{", paste(out, collapse = ",\n"), "}"), "crossover.json")
