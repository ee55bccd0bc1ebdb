# k8s-replaces.sh — sourced by scripts that build from k8s.io/kubernetes
# outside kastle's module (scripts/build-e2e.sh, bench/anchor/build.sh).
#
# k8s_replaces VERSION prints one go.mod replace line per staging module that
# k8s.io/kubernetes@VERSION names as v0.0.0: pinned to the matching v0.x
# release, or to the newest patch of that minor the module proxy serves (some,
# e.g. sample-apiserver, lag behind). The lookups run outside any module.
k8s_replaces() {
	local version=$1 staging=v0${1#v1}
	(
		cd "$(mktemp -d)"
		go mod download -json "k8s.io/kubernetes@$version" >/dev/null
		modfile=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$version.mod
		for m in $(grep -E '^\s+k8s.io/[a-z0-9-]+ v0\.0\.0$' "$modfile" | awk '{print $1}'); do
			v=$staging
			if ! go mod download "$m@$v" 2>/dev/null; then
				v=$(go list -m -versions "$m" | tr ' ' '\n' | grep -E "^${staging%.*}\." | sort -V | tail -1)
				[[ -n $v ]] || { echo "k8s-replaces: no ${staging%.*}.x of $m is served" >&2; exit 1; }
				echo "k8s-replaces: $m $staging is not served; using $v" >&2
			fi
			echo "replace $m => $m $v"
		done
	)
}

# k8s_module NAME VERSION PATH@VERSION... -- IMPORT... writes, in the current
# directory, the go.mod of a module NAME that requires the given modules with
# k8s.io/kubernetes@VERSION's staging modules pinned (k8s_replaces), and a
# deps.go importing each IMPORT, then tidies it: the shape both builds share.
k8s_module() {
	local module=$1 version=$2 replaces r i
	shift 2
	local requires=()
	while [[ $# -gt 0 && $1 != -- ]]; do
		requires+=("$1")
		shift
	done
	shift
	replaces=$(k8s_replaces "$version")
	{
		printf 'module %s\n\ngo 1.23\n\nrequire (\n' "$module"
		for r in "${requires[@]}"; do printf '\t%s %s\n' "${r%@*}" "${r#*@}"; done
		printf ')\n\n%s\n' "$replaces"
	} >go.mod
	{
		printf '//go:build tools\n\npackage %s\n\nimport (\n' "${module##*/}"
		for i in "$@"; do printf '\t_ "%s"\n' "$i"; done
		printf ')\n'
	} >deps.go
	go mod tidy -e >tidy.log 2>&1 || { cat tidy.log >&2; return 1; }
}
