# pipelines/recipe.mk: the Llama 2 recipe as make targets, from raw documents to
# an evaluated chat model. Run from the repository root:
#
#   make -f pipelines/recipe.mk [PRESET=tiny|demo] [WORK=dir] [VAR=value ...] TARGET
#
# TARGET is a stage (data tokenizer tokens pretrain sft chat eval rm), `report`
# (every stage, then a table of what each one did) or `all` (= report). Each
# stage writes files under $(WORK), default work/$(PRESET), and depends on the
# files it reads, so make runs only what is out of date; it is safe under -j.
# Each step's program is a variable (see "Step programs" below); a stage also
# reruns when its command line changes, so `make DEDUP=cat data` redoes the
# deduplication and everything after it. lmkit(7) walks through the recipe.

PRESET ?= demo
WORK   ?= work/$(PRESET)
BIN    ?= bin

# Inputs: the raw corpus (JSONL documents, gzip or not), SFT dialogues (chat
# JSONL), evaluation items (samples/README.md, "Evaluation") and preference
# pairs (PREFS_DATA in pipelines/rm.mk).
SFT_DATA  ?= samples/sft.jsonl
EVAL_DATA ?= samples/eval.jsonl
# every VAL_EVERY-th document or dialogue is held out for validation
VAL_EVERY ?= 20

include pipelines/presets.mk

# Step programs. CLEAN and DEDUP are filters: JSONL documents on standard input,
# the kept documents on standard output. The others are called with the
# arguments of the lmkit tool they stand for (see its manual).
CLEAN    ?= $(BIN)/lm-clean
DEDUP    ?= $(BIN)/lm-dedup
BPE      ?= $(BIN)/lm-bpe
TOKENIZE ?= $(BIN)/lm-tokenize
PRETRAIN ?= $(BIN)/lm-pretrain
SFT      ?= $(BIN)/lm-sft
CHAT     ?= $(BIN)/lm-chat
EVAL     ?= $(BIN)/lm-eval
REWARD   ?= $(BIN)/lm-rm
# Prefixes the training steps (pretrain, sft, rm), e.g. MPIRUN='mpirun -np 4
# --hostfile hosts' to train across machines (lmkit(7)). Not part of a stage's
# command: the results do not depend on the number of ranks but through the
# order of floating-point sums, so changing it reruns nothing.
MPIRUN   ?=

all: report

# $(call cmd,NAME,TEXT): $(WORK)/cmd/NAME holds TEXT and is rewritten only when
# TEXT changes, so a target that depends on it reruns when its command does.
quote = '$(subst ','\'',$(1))'
cmd = $(shell mkdir -p $(WORK)/cmd && printf '%s\n' $(call quote,$(2)) | cmp -s - $(WORK)/cmd/$(1) || \
	printf '%s\n' $(call quote,$(2)) >$(WORK)/cmd/$(1))$(WORK)/cmd/$(1)

# A trainer writes its checkpoint to PART, renamed to the target when it ends.
# Interrupted (Ctrl-C, a kill, a crash), the checkpoint it saved stays in PART,
# which make does not delete (it is no target), and the next make resumes it,
# unless a prerequisite (the data, the command) is newer than PART's training
# state. $(call resume,PART,ARGS) is then --resume, ARGS otherwise;
# $(call finish,PART) moves PART and its state to the target.
resume = $(if $(and $(wildcard $(1).state),$(if $(shell find $^ -prune -newer $(1).state),,new)),--resume,$(2))
finish = mv -f $(1).state $@.state && mv -f $(1) $@

$(WORK):
	mkdir -p $@

include pipelines/data.mk
include pipelines/tokenizer.mk
include pipelines/tokens.mk
include pipelines/pretrain.mk
include pipelines/sft.mk
include pipelines/chat.mk
include pipelines/eval.mk
include pipelines/rm.mk
include pipelines/report.mk

.PHONY: all data tokenizer tokens pretrain sft chat eval rm rm-helpful rm-safety report
# a failed step leaves no output behind to be mistaken for a finished one
.DELETE_ON_ERROR:
