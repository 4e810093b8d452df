# pipelines/demo.mk: `make demo` runs the whole recipe at the demo size and
# prints its report. Any recipe variable may be given: make demo WORK=/tmp/d.
PRESET ?= demo
include pipelines/recipe.mk

demo: report
.PHONY: demo
