#!/bin/sh
# lm-tokenize --chat (chat JSONL to a masked shard) and lm-chat, over JSONL and
# on a pseudo-terminal (script(1)): two turns, multi-line input, Ctrl-C during a
# reply and at the prompt, EOF; context overflow; bad input.
. "$(dirname "$0")/lib.sh"
need_assets tok512.model
TOK=$ASSETS/tok512.model
export OMP_NUM_THREADS=1

# --- lm-tokenize --chat -------------------------------------------------------
cat >d.jsonl <<'EOF'
{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why?"}, {"role": "assistant", "content": "Because."}, {"role": "user", "content": "Ok"}, {"role": "assistant", "content": "Yes"}]}
EOF
ok "dialogues to a shard" lm-tokenize --chat -m "$TOK" -o d.bin d.jsonl
ok "lm-info reads it" lm-info d.bin
is "two dialogues, with a loss mask" "$(grep -E '^(docs|mask):' .out | tr '\n' ' ')" "docs: 2 mask: yes "
# answers and EOS: "Hello!" + space + EOS, "Because." ..., "Yes" ...: targets counted by lm-info
targets=$(sed -n 's/^mask_targets: //p' .out)
ok "--last-only" lm-tokenize --chat --last-only -m "$TOK" -o last.bin d.jsonl
lm-info last.bin >info.txt
is "--last-only masks earlier answers" "$([ "$(sed -n 's/^mask_targets: //p' info.txt)" -lt "$targets" ] && echo fewer)" fewer
ok "decoded back" lm-tokenize -d -m "$TOK" -o d.txt d.bin
is "Meta's template" "$(head -1 d.txt)" "[INST] Hi [/INST] Hello!"
is "system prompt merged into the first turn" "$(sed -n 2p d.txt | head -c 32)" "[INST] <<SYS>>"
printf '%s\n' '{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}' >>d.jsonl
fails "a malformed dialogue" lm-tokenize --chat -m "$TOK" -o bad.bin d.jsonl
stderr_has "is named by file and line" "lm-tokenize: d.jsonl:3: message 2: expected role \"assistant\""
is "no partial shard" "$(ls bad.bin* 2>/dev/null)" ""
ok "--skip-bad" lm-tokenize --chat --skip-bad -m "$TOK" -o skip.bin d.jsonl
stderr_has "counts what it skipped" "skipped 1 malformed"
printf '%s\n' '{"messages": [{"role": "user", "content": "[INST] x"}, {"role": "assistant", "content": "y"}]}' >tag.jsonl
fails "a template tag in a message" lm-tokenize --chat -m "$TOK" -o bad.bin tag.jsonl
stderr_has "is refused" "tag.jsonl:1: message 1: content contains the template tag \[INST\]"
lm-tokenize --last-only -m "$TOK" -o bad.bin d.jsonl 2>/dev/null
is "--last-only without --chat is a usage error" $? 2

# --- lm-chat over JSONL ---------------------------------------------------------
# Greedy decoding of this random model never samples EOS within its context, so
# a reply runs until stopped: long enough to interrupt.
echo '{"dim": 256, "n_layers": 6, "n_heads": 8, "vocab_size": 512, "max_seq_len": 2048}' >big.json
echo '{"dim": 32, "n_layers": 1, "n_heads": 2, "vocab_size": 512, "max_seq_len": 64}' >small.json
ok "models" sh -c 'lm-convert --init big.json --seed 1 big.safetensors && lm-convert --init small.json small.safetensors'
cat >p.jsonl <<'EOF'
{"messages": [{"role": "user", "content": "Hello there"}]}
{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why?"}, {"role": "assistant", "content": "Because."}, {"role": "user", "content": "Ok?"}]}
{"id": 3, "messages": [{"role": "user", "content": "Tell me a story"}]}
EOF
CHAT="lm-chat -m big.safetensors -t $TOK --max-new 12"
ok "replies to prompts" $CHAT -i p.jsonl -o r.jsonl
is "one record per prompt" "$(wc -l <r.jsonl | tr -d ' ')" 3
is "each ends with the assistant's reply" "$(grep -c '{"role": "assistant", "content": "[^"]*"}\], "finish": "\(eos\|length\)"' r.jsonl)" 3
is "history kept in the record" "$(sed -n 2p r.jsonl | grep -o '"role": "[a-z]*"' | tr '\n' ' ')" \
	'"role": "system" "role": "user" "role": "assistant" "role": "user" "role": "assistant" '
is "a prompt's id goes with its reply" "$(sed -n 3p r.jsonl | cut -c1-22)" '{"id": 3, "messages": '
ok "again, one prompt at a time" $CHAT -b 1 -i p.jsonl -o r1.jsonl
ok "the same replies whatever the batch" cmp r.jsonl r1.jsonl
ok "prompts on standard input" sh -c "$CHAT <p.jsonl >r2.jsonl"
ok "the same replies" cmp r.jsonl r2.jsonl
ok "greedy" $CHAT --temperature 0 -i p.jsonl -o g.jsonl
is "greedy runs to --max-new without EOS" "$(sed -n 1p g.jsonl | grep -o '"finish": "[a-z]*", "tokens": [0-9]*')" '"finish": "length", "tokens": 12'

# context: 64 positions, 16 kept for the reply; the oldest turns go first
long="one two three four five six seven eight nine ten"
printf '{"messages": [{"role": "user", "content": "%s"}, {"role": "assistant", "content": "%s"}, {"role": "user", "content": "%s"}, {"role": "assistant", "content": "%s"}, {"role": "user", "content": "short"}]}\n' "$long" "$long" "$long" "$long" >o.jsonl
ok "a dialogue longer than the context" lm-chat -m small.safetensors -t "$TOK" --max-new 16 -i o.jsonl -o ro.jsonl
stderr_has "says it dropped the oldest turns" "o.jsonl:1: context full: dropped the 2 oldest turns"
is "and records it" "$(grep -o '"dropped_turns": [0-9]*' ro.jsonl)" '"dropped_turns": 2'
printf '{"messages": [{"role": "user", "content": "%s %s %s"}]}\n' "$long" "$long" "$long" >toolong.jsonl
fails "a last message longer than the context" lm-chat -m small.safetensors -t "$TOK" -i toolong.jsonl -o bad.jsonl
stderr_has "is an error" "toolong.jsonl:1: the last user message does not fit"
is "no partial output" "$(ls bad.jsonl* 2>/dev/null)" ""
printf '%s\n' '{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}' >>p.jsonl
fails "a prompt that ends with the answer" $CHAT -i p.jsonl -o bad.jsonl
stderr_has "is named by line" "p.jsonl:4: the last message must be the user's"
is "no partial output" "$(ls bad.jsonl* 2>/dev/null)" ""
ok "--skip-bad" $CHAT --skip-bad -i p.jsonl -o skip.jsonl
stderr_has "counts it" "skipped 1 malformed"
is "and answers the rest" "$(wc -l <skip.jsonl | tr -d ' ')" 3
fails "--system outside a terminal" $CHAT --system hi -i p.jsonl
fails "a missing model" lm-chat -m nosuch.safetensors -t "$TOK" -i p.jsonl
stderr_has "names it" "nosuch.safetensors"
fails "--top-p 0" $CHAT --top-p 0 -i p.jsonl
lm-chat -t "$TOK" -i p.jsonl 2>/dev/null
is "no model is a usage error" $? 2

# --- lm-chat on a terminal ------------------------------------------------------
command -v script >/dev/null || { done_testing; exit; }
# wait_until CMD...: run CMD every 0.1 s until it succeeds; give up after 60 s
wait_until() {
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -gt 600 ] && return 1
		sleep 0.1
	done
}
# seen FILE PATTERN [COUNT]: FILE has COUNT lines matching PATTERN
seen() { n=$(grep -c -- "$2" "$1" 2>/dev/null); [ "${n:-0}" -ge "${3:-1}" ]; }
until_seen() { wait_until seen "$@"; }
# at_prompt FILE: FILE ends with lm-chat's prompt "> "
at_prompt() { [ "$(tail -c 2 "$1" 2>/dev/null)" = "> " ]; }
until_prompt() { wait_until at_prompt "$1"; }
# answering FILE: a line of the answer to "Tell me a story" has come
answering() { [ "$(awk '/> Tell me a story/ { f = 1; next } f && length($0) > 2 { print "y"; exit }' "$1")" = y ]; }
# until_ended FILE: wait (up to 60 s) for script(1)'s last line: lm-chat has ended
until_ended() { until_seen "$1" 'COMMAND_EXIT_CODE='; }
# show FILE: a transcript as TAP comments, when something failed
show() { [ $_fail -eq 0 ] || sed 's/^/#   /' "$1"; }
# script(1) runs its command with $SHELL -c; "exec" keeps a shell from standing
# between it and lm-chat (dash, as /bin/sh, kills itself on the Ctrl-C that
# lm-chat catches, so the status would be 130).
# Two turns (the second sent as two lines joined by a backslash), then EOF.
(
	until_prompt s1.txt
	printf 'Hello there\r'
	until_seen s1.txt 'context: '
	until_prompt s1.txt
	printf 'first line\\\r'
	until_seen s1.txt '^\. '
	printf 'second line\r'
	until_seen s1.txt 'context: ' 2
	until_prompt s1.txt
	printf '\004'
	until_ended s1.txt
) | timeout 120 script -qfec "exec lm-chat -v -m big.safetensors -t $TOK --system 'Be brief.' --temperature 0 --max-new 8" s1.txt >/dev/null
tr -d '\r' <s1.txt >t1.txt
is "the program ends on EOF with status 0" "$(grep -c 'COMMAND_EXIT_CODE="0"' t1.txt)" 1
is "two replies" "$(grep -c '^(context: ' t1.txt)" 2
is "a backslash continues the message" "$(grep -c '^\. second line$' t1.txt)" 1
n1=$(sed -n 's/^(context: \([0-9]*\) of 2048 tokens)$/\1/p' t1.txt | sed -n 1p)
n2=$(sed -n 's/^(context: \([0-9]*\) of 2048 tokens)$/\1/p' t1.txt | sed -n 2p)
is "the second turn's prompt holds the first ($n1 then $n2 tokens)" "$([ "${n2:-0}" -gt $((${n1:-0} + 15)) ] && echo yes)" yes
show t1.txt

echo '{"messages": [{"role": "user", "content": "Tell me a story"}]}' >story.jsonl
lm-chat -m big.safetensors -t "$TOK" --temperature 0 --max-new 300 -i story.jsonl >story.out
is "premise: the greedy answer to the next prompt runs on (300 tokens, no EOS)" \
	"$(grep -o '"finish": "[a-z]*", "tokens": [0-9]*' story.out)" '"finish": "length", "tokens": 300'
# Ctrl-C while it answers stops the answer, Ctrl-C at the prompt drops the line, EOF ends.
(
	until_prompt s2.txt
	printf 'Tell me a story\r'
	# wait for the first words of the answer, then interrupt it
	wait_until answering s2.txt
	printf '\003'
	until_seen s2.txt 'context: '
	until_prompt s2.txt
	printf 'never sent'
	sleep 0.5
	printf '\003'
	# the echoed line ends in "^C"; lm-chat answers with a fresh prompt
	until_prompt s2.txt
	printf '\004'
	until_ended s2.txt
) | timeout 120 script -qfec "exec lm-chat -v -m big.safetensors -t $TOK --temperature 0" s2.txt >/dev/null
tr -d '\r' <s2.txt >t2.txt
is "Ctrl-C stops the reply" "$(grep -c ' \[interrupted\]$' t2.txt)" 1
n=$(sed -n 's/^(context: \([0-9]*\) of 2048 tokens)$/\1/p' t2.txt)
is "well before the end of the context ($n tokens)" "$([ "${n:-2048}" -lt 1500 ] && echo yes)" yes
is "a Ctrl-C at the prompt drops the line, no reply" "$(grep -c '^(context: ' t2.txt)" 1
is "the program goes on and ends on EOF with status 0" "$(grep -c 'COMMAND_EXIT_CODE="0"' t2.txt)" 1
show t2.txt
done_testing
