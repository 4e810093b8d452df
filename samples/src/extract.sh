#!/bin/sh
# How samples/src/*.txt.gz were made from Debian 12 packages (run once, by hand;
# the generator only reads the committed results, so it needs none of these).
#   kjv.txt.gz    bible-kjv 4.38 + bible-kjv-text 4.38: every verse, one a line,
#                 "Ge1:1 In the beginning ...", from Genesis 1:1 to Revelation 22:21
#   devil.txt.gz  dict-devil 1.0-13.1: the dictd database of The Devil's Dictionary
# gzip -n leaves out the name and time, so the same text gives the same bytes.
set -eu
cd "$(dirname "$0")"
command -v bible >/dev/null || { echo "extract.sh: needs: apt-get install bible-kjv" >&2; exit 1; }
[ -r /usr/share/dictd/devil.dict.dz ] || { echo "extract.sh: needs: apt-get install dict-devil" >&2; exit 1; }
bible -f gen1:1-rev22:21 | gzip -9n >kjv.txt.gz
gzip -dc /usr/share/dictd/devil.dict.dz | gzip -9n >devil.txt.gz
