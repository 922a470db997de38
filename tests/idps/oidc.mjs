// An OpenID provider for the sign-in tests: node-oidc-provider with its development
// login form (any login name signs in; it becomes the subject and the email).
// Usage: node oidc.mjs PORT CLIENTS_JSON   (listens on 127.0.0.1:PORT)
import Provider from "oidc-provider";

const [port, clientsJson] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: JSON.parse(clientsJson),
  cookies: { keys: ["test-only-cookie-key"] },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "given_name", "family_name", "preferred_username"],
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        const local = id.split("@")[0];
        return {
          sub: id,
          email: id,
          email_verified: true,
          preferred_username: id,
          name: local,
          given_name: local,
          family_name: "Test",
        };
      },
    };
  },
});

provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`oidc-provider ready at ${issuer}`);
});
