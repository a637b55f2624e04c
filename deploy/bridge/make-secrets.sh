#!/bin/sh
# Makes what a bridge bound beyond loopback needs: a private CA, a server certificate it
# signs and a bearer token, in the directory given (default /secrets). Idempotent: files
# that exist are kept, so every worker of a compose stack shares one CA and one token.
#
#   ca.pem       the CA certificate clients trust (BridgeClient: TLSConfig(server_root_ca_cert=
#                ca.pem, domain="fastcore-bridge"); temporal CLI: --tls-ca-path ca.pem
#                --tls-server-name fastcore-bridge)
#   server.pem   the bridge's certificate (names: fastcore-bridge, localhost, 127.0.0.1)
#   server.key   its private key
#   token        the bearer token (send "authorization: Bearer <token>")
#
# docker-compose.yml runs it once (service bridge-secrets) into a volume the workers mount
# read-only. For anything beyond a local stack, use certificates and a token of your own.
set -eu
out="${1:-/secrets}"
owner="${FASTCORE_SECRETS_OWNER:-10001:10001}"  # the worker image's user
mkdir -p "$out"
cd "$out"
umask 077
if [ ! -s token ]; then
    openssl rand -hex 32 > token.tmp && mv token.tmp token
fi
if [ ! -s ca.pem ] || [ ! -s ca.key ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
        -subj "/CN=fastcore bridge local CA" -keyout ca.key -out ca.pem 2>/dev/null
    rm -f server.pem server.key
fi
if [ ! -s server.pem ] || [ ! -s server.key ]; then
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=fastcore-bridge" -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:fastcore-bridge,DNS:localhost,IP:127.0.0.1\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
        -extfile server.ext -out server.pem 2>/dev/null
    rm -f server.csr server.ext ca.srl
fi
chmod 0644 ca.pem server.pem
chmod 0600 ca.key server.key token
chown "$owner" server.key token server.pem ca.pem 2>/dev/null || true
echo "bridge TLS certificate and token are in $out"
