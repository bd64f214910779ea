#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the server's tests, on 127.0.0.1 and a free port.
#   test-postgres.sh start DIR   -> installs PostgreSQL if missing, starts it, writes DIR/url
#   test-postgres.sh stop DIR    -> stops it and removes DIR
# As root (CI), the cluster runs as the `postgres` user: initdb refuses root.
#
# The cluster accepts plain and TLS connections (ssl=on). Its certificate is made here,
# for this run only, by a throwaway CA: DIR/tls/ca.crt signs DIR/tls/server.crt (for
# 127.0.0.1 and localhost); DIR/tls/other-ca.crt is a CA that signed nothing, for the
# wrong-CA test. Nothing of it is committed. DIR/url asks for a plain connection
# (sslmode=disable); the TLS tests find the certificates through DIR/tls.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}

find_bin() {
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    command -v initdb >/dev/null && dirname "$(command -v initdb)"
}

# A CA and a server certificate signed by it, plus an unrelated CA. EC P-256: quick to make.
make_certs() {
    local tls=$1
    mkdir -p "$tls"
    ossl() { openssl "$@" 2>"$tls/openssl.log" || { cat "$tls/openssl.log" >&2; return 1; }; }
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    local ca_ext=(-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign)
    ossl req -x509 "${ec[@]}" -days 2 -subj "/CN=switchyard test CA" "${ca_ext[@]}" \
        -keyout "$tls/ca.key" -out "$tls/ca.crt"
    ossl req -x509 "${ec[@]}" -days 2 -subj "/CN=switchyard other CA" "${ca_ext[@]}" \
        -keyout "$tls/other-ca.key" -out "$tls/other-ca.crt"
    ossl req "${ec[@]}" -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr"
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/server.ext"
    ossl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
        -days 2 -extfile "$tls/server.ext" -out "$tls/server.crt"
    rm -f "$tls/ca.key" "$tls/other-ca.key" "$tls/server.csr" "$tls/server.ext" \
        "$tls/ca.srl" "$tls/openssl.log"
    chmod 600 "$tls/server.key"
    chmod 644 "$tls"/*.crt
}

case "$cmd" in
start)
    bin=$(find_bin || true)
    if [ -z "$bin" ]; then
        echo "PostgreSQL not found: installing from Debian's packages" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        bin=$(find_bin)
    fi
    mkdir -p "$dir"
    chmod 755 "$dir"
    make_certs "$dir/tls"
    runas=()
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$dir" "$dir/tls/server.key"
        runas=(runuser -u postgres --)
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${runas[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1
    "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-h 127.0.0.1 -p $port -k $dir -F -c max_connections=300 -c ssl=on \
            -c ssl_cert_file=$dir/tls/server.crt -c ssl_key_file=$dir/tls/server.key" start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable" >"$dir/url"
    ;;
stop)
    bin=$(find_bin || true)
    if [ -d "$dir/data" ] && [ -n "$bin" ]; then
        if [ "$(id -u)" = 0 ]; then
            runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
        else
            "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
        fi
    fi
    rm -rf "$dir"
    ;;
esac
