"""A labelled evaluation corpus for the scanner, generated deterministically with Faker.

Half of the texts carry PII or secrets in varied surroundings (prose, JSON, logs, code,
markdown, CSV); the other half are clean but full of look-alikes (order numbers, timestamps,
versions, Luhn-failing card numbers, UUIDs, hashes, part numbers, dates, MACs, placeholders).
Every entity's character span is recorded while the text is assembled, so scoring needs no
second detector."""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

from faker import Faker

B62 = string.ascii_letters + string.digits
B64URL = B62 + "-_"
UP = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Entity:
    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Sample:
    text: str
    entities: tuple[Entity, ...]


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.entities: list[Entity] = []
        self.pos = 0

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.pos += len(s)

    def entity(self, kind: str, value: str) -> None:
        self.entities.append(Entity(kind, self.pos, self.pos + len(value)))
        self.add(value)

    def build(self) -> Sample:
        return Sample("".join(self.parts), tuple(self.entities))


class Corpus:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker(["en_US"])
        self.fake.seed_instance(seed)
        self.intl = {loc: Faker(loc) for loc in ("en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES")}
        for i, f in enumerate(self.intl.values()):
            f.seed_instance(seed + i + 1)

    def s(self, n: int, alphabet: str) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def sentence(self) -> str:
        return str(self.fake.sentence(nb_words=self.rng.randint(4, 12)))

    # ---- values: (kind, prefix that must precede it, value) --------------------------------

    def email(self) -> tuple[str, str, str]:
        f = self.fake
        v = self.rng.choice(
            [
                str(f.email()),
                str(f.company_email()),
                f"{f.first_name().lower()}.{f.last_name().lower()}+{f.word()}@{f.domain_name(2)}",
                f"{f.user_name()}{self.rng.randint(1, 99)}@{f.free_email_domain()}",
            ]
        )
        return ("email", "", v)

    def phone(self) -> tuple[str, str, str]:
        r = self.rng
        a, e, line = (
            f"{r.randint(2, 9)}{r.randint(0, 99):02d}",
            f"{r.randint(2, 9)}{r.randint(0, 99):02d}",
            f"{r.randint(0, 9999):04d}",
        )
        if r.random() < 0.7:
            fmt = r.choice(
                [
                    "({a}) {e}-{l}",
                    "({a}){e}-{l}",
                    "{a}-{e}-{l}",
                    "{a}.{e}.{l}",
                    "+1 {a} {e} {l}",
                    "+1-{a}-{e}-{l}",
                    "1-{a}-{e}-{l}",
                    "{a}-{e}-{l} x{x}",
                    "+1 ({a}) {e}-{l}",
                ]
            )
            return ("phone", "", fmt.format(a=a, e=e, l=line, x=r.randint(1, 9999)))
        cc, groups = r.choice(
            [
                ("44", [2, 4, 4]),
                ("49", [2, 8]),
                ("33", [1, 2, 2, 2, 2]),
                ("91", [5, 5]),
                ("61", [1, 4, 4]),
                ("81", [2, 4, 4]),
            ]
        )
        digits = [str(r.randint(1, 9)) + self.s(g - 1, string.digits) for g in groups]
        sep = r.choice([" ", "-", " "])
        return (
            "phone",
            "",
            f"+{cc}{sep}" + sep.join(digits) if r.random() < 0.8 else f"+{cc}" + "".join(digits),
        )

    def card(self) -> tuple[str, str, str]:
        t = self.rng.choice(
            ["visa16", "visa13", "mastercard", "amex", "discover", "jcb16", "diners"]
        )
        n = str(self.fake.credit_card_number(card_type=t))
        style = self.rng.random()
        if style < 0.4 or len(n) not in (15, 16):
            return ("credit_card", "", n)
        sep = " " if style < 0.75 else "-"
        if len(n) == 15:
            return ("credit_card", "", sep.join([n[:4], n[4:10], n[10:]]))
        return ("credit_card", "", sep.join(n[i : i + 4] for i in range(0, 16, 4)))

    def iban(self) -> tuple[str, str, str]:
        v = str(self.rng.choice(list(self.intl.values())).iban())
        if self.rng.random() < 0.5:
            v = " ".join(v[i : i + 4] for i in range(0, len(v), 4))
        return ("iban", "", v)

    def ssn(self) -> tuple[str, str, str]:
        return ("us_ssn", "", str(self.fake.ssn()))

    def ip(self) -> tuple[str, str, str]:
        r = self.rng.random()
        if r < 0.5:
            return ("ip_address", "", str(self.fake.ipv4()))
        v6 = str(self.fake.ipv6())
        return ("ip_address", "", v6 if r < 0.75 else ipaddress.IPv6Address(v6).compressed)

    def openai(self) -> tuple[str, str, str]:
        r = self.rng.random()
        if r < 0.4:
            v = "sk-" + self.s(20, B62) + "T3BlbkFJ" + self.s(20, B62)
        elif r < 0.8:
            v = "sk-proj-" + self.s(156, B64URL)
        else:
            v = "sk-svcacct-" + self.s(120, B64URL)
        return ("openai_api_key", "", v)

    def anthropic(self) -> tuple[str, str, str]:
        return ("anthropic_api_key", "", "sk-ant-api03-" + self.s(93, B64URL) + "AA")

    def aws_access(self) -> tuple[str, str, str]:
        return (
            "aws_access_key",
            "",
            self.rng.choice(["AKIA", "ASIA"]) + self.s(16, string.ascii_uppercase + "234567"),
        )

    def aws_secret(self) -> tuple[str, str, str]:
        pre = self.rng.choice(
            [
                "aws_secret_access_key = ",
                "AWS_SECRET_ACCESS_KEY=",
                '"SecretAccessKey": "',
                "aws_secret_access_key: ",
            ]
        )
        return ("aws_secret_key", pre, self.s(40, B62 + "/+"))

    def github(self) -> tuple[str, str, str]:
        if self.rng.random() < 0.7:
            return (
                "github_token",
                "",
                self.rng.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + self.s(36, B62),
            )
        return ("github_token", "", "github_pat_" + self.s(22, B62) + "_" + self.s(59, B62))

    def slack(self) -> tuple[str, str, str]:
        if self.rng.random() < 0.7:
            p = self.rng.choice(["xoxb-", "xoxp-", "xoxa-", "xoxr-"])
            return (
                "slack_token",
                "",
                f"{p}{self.s(12, string.digits)}-{self.s(13, string.digits)}-{self.s(24, B62)}",
            )
        return (
            "slack_token",
            "",
            "https://hooks.slack.com/services/"
            f"T{self.s(8, UP)}/B{self.s(10, UP)}/{self.s(24, B62)}",
        )

    def stripe(self) -> tuple[str, str, str]:
        return (
            "stripe_key",
            "",
            self.rng.choice(["sk_live_", "rk_live_", "sk_test_"])
            + self.s(self.rng.randint(24, 99), B62),
        )

    def google(self) -> tuple[str, str, str]:
        return ("google_api_key", "", "AIza" + self.s(35, B64URL))

    def private_key(self) -> tuple[str, str, str]:
        label = self.rng.choice(
            [
                "RSA PRIVATE KEY",
                "PRIVATE KEY",
                "EC PRIVATE KEY",
                "OPENSSH PRIVATE KEY",
                "ENCRYPTED PRIVATE KEY",
            ]
        )
        lines = [self.s(64, B62 + "+/") for _ in range(self.rng.randint(3, 25))]
        nl = "\\n" if self.rng.random() < 0.3 else "\n"
        return (
            "private_key",
            "",
            f"-----BEGIN {label}-----{nl}" + nl.join(lines) + f"{nl}-----END {label}-----",
        )

    def jwt(self) -> tuple[str, str, str]:
        def enc(obj: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

        head = enc({"alg": self.rng.choice(["HS256", "RS256", "ES384"]), "typ": "JWT"})
        body = enc(
            {
                "sub": str(self.fake.uuid4()),
                "name": str(self.fake.name()),
                "iat": self.rng.randint(1_600_000_000, 1_800_000_000),
            }
        )
        return ("jwt", "", f"{head}.{body}.{self.s(43, B64URL)}")

    def palisade(self) -> tuple[str, str, str]:
        # The gateway's own credentials, shaped as identity/credentials.py issues them.
        kind, prefix = self.rng.choice(
            [("palisade_virtual_key", "pal"), ("palisade_access_token", "pat")]
        )
        return (kind, "", f"{prefix}-{self.s(12, '0123456789abcdef')}-{self.s(43, B64URL)}")

    def generic(self) -> tuple[str, str, str]:
        pre = self.rng.choice(
            [
                "api_key=",
                "API_KEY = ",
                "password: ",
                "DB_PASSWORD=",
                '"client_secret": "',
                "Authorization: Bearer ",
                "auth_token: ",
                "secret_key = '",
                "X-Api-Key: ",
            ]
        )
        r = self.rng.random()
        if r < 0.35:
            v = self.s(32, "0123456789abcdef")
        elif r < 0.7:
            v = self.s(self.rng.randint(20, 40), B64URL)
        else:
            v = str(self.fake.password(length=self.rng.randint(14, 24), special_chars=False))
        return ("generic_secret", pre, v)

    def values(self) -> list[Callable[[], tuple[str, str, str]]]:
        return [
            self.email,
            self.phone,
            self.card,
            self.iban,
            self.ssn,
            self.ip,
            self.openai,
            self.anthropic,
            self.aws_access,
            self.aws_secret,
            self.github,
            self.slack,
            self.stripe,
            self.google,
            self.private_key,
            self.jwt,
            self.generic,
            self.palisade,
        ]

    # ---- clean look-alikes -----------------------------------------------------------------

    def lookalike(self) -> str:
        r, f = self.rng, self.fake
        bad_card = str(f.credit_card_number(card_type="visa16"))
        bad_card = bad_card[:-1] + str((int(bad_card[-1]) + r.randint(1, 9)) % 10)
        iban = str(self.intl["de_DE"].iban())
        bad_iban = iban[:-1] + str((int(iban[-1]) + 1) % 10)
        choices = [
            f"ORD-{r.randint(2019, 2025)}-{r.randint(0, 999999):06d}",
            f"order #{r.randint(100000000, 999999999)}",
            f"invoice INV-{r.randint(10000, 99999)}-{r.randint(10, 99)}",
            f"tracking 1Z{self.s(6, UP)}{r.randint(10**9, 10**10 - 1)}",
            str(f.iso8601()),
            f"{f.date()} {f.time()}",
            ":".join(f"{r.randint(0, 59):02d}" for _ in range(3)) + f".{r.randint(0, 999):03d}",
            f"epoch {r.randint(1_500_000_000, 1_800_000_000)}",
            f"v{r.randint(0, 20)}.{r.randint(0, 40)}.{r.randint(0, 99)}",
            f"{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 30)}-beta.{r.randint(1, 9)}",
            f"build 10.0.{r.randint(19000, 22999)}.{r.randint(256, 4000)}",
            f"Python 3.{r.randint(8, 13)}.{r.randint(0, 12)}",
            f"card {bad_card}",
            f"card {' '.join(bad_card[i : i + 4] for i in range(0, 16, 4))}",
            f"account {bad_iban}",
            str(f.uuid4()),
            f"sha256 {f.sha256()}",
            f"commit {f.sha1()}",
            f"md5 {f.md5()}",
            f"P/N {r.randint(100, 199)}-{r.randint(200, 999)}-{r.randint(1000, 9999)}",
            f"part {r.randint(1000, 9999)}-{r.randint(100, 999)}-{r.randint(10, 99)}",
            f"SKU {r.randint(10, 99)}-{r.randint(1000, 9999)}-{r.randint(100, 999)}",
            f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/{r.randint(1990, 2030)}",
            f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.{r.randint(1990, 2030)}",
            f"${r.randint(1, 999)},{r.randint(100, 999)}.{r.randint(10, 99)}",
            f"mac {f.mac_address()}",
            "std::vector<int> and crate::util::parse",
            f"@{f.user_name()} mentioned @app.route and {f.user_name()}@localhost",
            r.choice(["078-05-1120", "219-09-9999", "123-45-6789", "000-12-3456", "666-45-1234"]),
            f"ticket {r.randint(100, 999)}-{r.randint(10, 99)}-{r.randint(10000, 99999)}",
            r.choice(
                [
                    "password: ********",
                    "api_key=YOUR_API_KEY_HERE",
                    "token = os.environ['GITHUB_TOKEN']",
                    "secret: ${SECRET_VALUE}",
                    "the auth token: expires soon",
                    "password = getPasswordFromVault()",
                ]
            ),
            r.choice(
                [
                    "pip install scikit-learn (sk-learn)",
                    "task-sk-runner",
                    "AKIA is a prefix",
                    "eyJ is how JSON starts in base64",
                    "xoxb- tokens start like this",
                    "a pal-friendly pat-down",
                    f"key pal-{f.hexify('^' * 12)}-... (elided)",
                    f"pat-{f.hexify('^' * 11)}-{self.s(43, B64URL)}",
                ]
            ),
            f"score {r.randint(0, 100)}/{r.randint(100, 200)} at {r.randint(1, 99)}%",
            f"{r.randint(1000000000, 9999999999)}",
        ]
        return r.choice(choices)

    # ---- surroundings ----------------------------------------------------------------------

    def wrap(self, b: _Builder, items: list[tuple[str, str, str] | str]) -> None:
        """Lays the items out in one randomly chosen format."""
        f, r = self.fake, self.rng
        fmt = r.choice(["prose", "json", "log", "code", "markdown", "csv"])

        def put(item: tuple[str, str, str] | str) -> None:
            if isinstance(item, str):
                b.add(item)
            else:
                kind, pre, value = item
                b.add(pre)
                b.entity(kind, value)

        for n, item in enumerate(items):
            if fmt == "prose":
                b.add(
                    f"{self.sentence()} "
                    f"{r.choice(['Use', 'See', 'Reach me at', 'Value:', 'Here it is', 'Noted'])} "
                )
                put(item)
                b.add(r.choice([". ", ", thanks. ", "! ", " \u2014 ok. "]))
            elif fmt == "json":
                b.add("{" if n == 0 else ", ")
                b.add(f'"user": "{f.user_name()}", "note": "')
                put(item)
                b.add(f'", "ts": "{f.iso8601()}"')
            elif fmt == "log":
                b.add(
                    f"{f.iso8601()}Z {r.choice(['INFO', 'WARN', 'DEBUG'])} "
                    f"[{f.word()}] req={f.uuid4()} value="
                )
                put(item)
                b.add(f" latency={r.randint(1, 999)}ms\n")
            elif fmt == "code":
                b.add(f'    {f.word()}_{n} = client.call("')
                put(item)
                b.add('")  # ' + f.word() + "\n")
            elif fmt == "markdown":
                b.add(f"- **{f.word().title()}**: ")
                put(item)
                b.add(f" ({f.word()})\n")
            else:
                b.add(f"{r.randint(1, 9999)},{f.last_name()},")
                put(item)
                b.add(f",{f.date()}\n")
        if fmt == "json":
            b.add("}")

    def positive(self, makers: list[Callable[[], tuple[str, str, str]]]) -> Sample:
        b = _Builder()
        self.wrap(b, [m() for m in makers])
        return b.build()

    def negative(self) -> Sample:
        b = _Builder()
        self.wrap(b, [self.lookalike() for _ in range(self.rng.randint(1, 3))])
        return b.build()


def generate(seed: int = 1234, per_half: int = 1020) -> list[Sample]:
    c = Corpus(seed)
    makers = c.values()
    out: list[Sample] = []
    for i in range(per_half):
        first = makers[i % len(makers)]
        extra = [c.rng.choice(makers) for _ in range(c.rng.randint(0, 2))]
        out.append(c.positive([first, *extra]))
        out.append(c.negative())
    return out
