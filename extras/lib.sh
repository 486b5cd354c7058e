# SPDX-License-Identifier: GPL-2.0-only
# What the scripts of extras/ share (sourced, after setting prog to the
# script's name): their messages, and the check of a command they need.

log()
{
	echo "$prog: $*" >&2
}

die()
{
	echo "$prog: error: $*" >&2
	exit 1
}

# need_cmd COMMAND PACKAGE: die, naming the Debian package, without COMMAND.
need_cmd()
{
	command -v "$1" > /dev/null || die "$1 not found; on Debian: apt-get install $2"
}
