// The OpenID Connect provider of the tests: panva's oidc-provider (OpenID Certified), run as is
// with its own login and consent pages (devInteractions), an RSA key made at start, the
// clients and the test users of a JSON file the test writes:
//   node provider.mjs CONFIG.json
//   {"issuer": "http://127.0.0.1:PORT", "port": PORT, "clients": [...],
//    "users": {"login": {"name": ..., "groups": [...], "agency": ...}}}
// A user's claims are released under the scopes profile (name) and aduan (groups, agency),
// from the userinfo endpoint (the ID token of the code flow carries only the subject).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signing = { ...privateKey.export({ format: "jwk" }), kid: `uji-${randomBytes(4).toString("hex")}`, use: "sig", alg: "RS256" };

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: { keys: [signing] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  scopes: ["openid", "profile", "aduan"],
  claims: { openid: ["sub"], profile: ["name", "preferred_username"], aduan: ["groups", "agency"] },
  async findAccount(ctx, id) {
    const user = config.users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, ...user };
      },
    };
  },
  features: { devInteractions: { enabled: true } },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
});
provider.on("server_error", (ctx, error) => console.error("server_error", error));

provider.listen(config.port, "127.0.0.1", () => console.log(`listening on ${config.issuer}`));
