"""Key families, and CL403 pairing across the files of a project.

``fixtures/project/shop`` has its refills in ``views.py`` and the deletes of the same
key families in ``signals.py``: ``cachelint check DIR`` pairs them, flake8 (one file
at a time) cannot.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from cachelint import keys
from cachelint.config import Config
from cachelint.facts import build_facts
from tests.helpers import cli_json, flake8_findings

PROJECT = Path(__file__).resolve().parent.parent / "fixtures" / "project" / "shop"
VIEWS, SIGNALS, TASKS, ADMIN = (PROJECT / f"{n}.py" for n in
                                ("views", "signals", "tasks", "admin_actions"))

# (file, line, code) that `cachelint check` reports on the project directory.
PROJECT_FINDINGS = {
    (VIEWS, 13, "CL101"),
    (VIEWS, 22, "CL101"),
    (SIGNALS, 11, "CL403"),  # refilled at views.py:13
    (SIGNALS, 12, "CL403"),  # refilled at views.py:22
    (TASKS, 15, "CL101"),
    (TASKS, 20, "CL403"),  # refilled in the same file
    (ADMIN, 12, "CL402"),  # before the commit: CL402, never CL403 as well
}
CROSS_FILE = {(SIGNALS, 11, "CL403"), (SIGNALS, 12, "CL403")}


# -- key families -------------------------------------------------------------------------

CONSTANTS = {"PREFIX": "user", "USER_KEY": "user:{}", "USER_FMT": "user:%s"}


def constant(node: cst.BaseExpression) -> str | None:
    return CONSTANTS.get(node.value) if isinstance(node, cst.Name) else None


@pytest.mark.parametrize(
    "expression",
    [
        'f"user:{uid}"',
        'f"user:{user.pk}"',
        'f"user:{uid:>8}"',
        '"user:%s" % uid',
        '"user:%d" % (uid,)',
        '"user:%(id)s" % {"id": uid}',
        '"user:{}".format(uid)',
        '"user:{0}".format(uid)',
        '"user:{id}".format(id=uid)',
        '"user:" + str(uid)',
        '"user:" + uid',
        "'user:' + str(uid) + ''",
        'USER_KEY.format(uid)',
        'USER_FMT % uid',
        'PREFIX + ":" + str(uid)',
        'f"{PREFIX}:{uid}"',
        '"%s:%s" % (PREFIX, uid)',
        '"{}:{}".format(PREFIX, uid)',
        '"{kind}:{id}".format(kind=PREFIX, id=uid)',
        '":".join([PREFIX, str(uid)])',
        '":".join(("user", uid))',
    ],
)
def test_spellings_of_one_family(expression: str) -> None:
    assert keys.family(cst.parse_expression(expression), constant) == "user:{}"


@pytest.mark.parametrize(
    ("expression", "family"),
    [
        ('f"user:{uid}:posts"', "user:{}:posts"),
        ('"user:%s:%s" % (uid, page)', "user:{}:{}"),
        ('f"user:{a}{b}"', "user:{}"),
        ('"site:banner"', "site:banner"),
        ('"rate:%d%%" % pct', "rate:{}%"),
        ('f"{tenant}:user:{uid}"', "{}:user:{}"),
    ],
)
def test_other_families(expression: str, family: str) -> None:
    assert keys.family(cst.parse_expression(expression), constant) == family


@pytest.mark.parametrize(
    "expression",
    ["uid", "key", "make_key(uid)", 'f"{a}:{b}"', '"%s:%s" % (a, b)', '"{}".format(k)',
     'prefix + ":" + uid', '":".join(parts)', "self.key"],
)
def test_unknown_keys_have_no_family(expression: str) -> None:
    assert keys.family(cst.parse_expression(expression), constant) is None


def test_a_family_with_an_unknown_namespace_never_pairs() -> None:
    lock = keys.family(cst.parse_expression('key + ":lock"'))
    assert lock == "{}:lock"
    assert not keys.pairable(lock)
    assert not keys.pairable(None)
    assert keys.pairable("user:{}")


def module_families(source: str) -> dict[str, str | None]:
    """key text -> family of every cache call in ``source``."""
    facts = build_facts(cst.parse_module(textwrap.dedent(source)), Config())
    return {op.key_text or "": op.key_family for op in facts.ops}


def test_families_through_helpers_constants_and_locals() -> None:
    families = module_families(
        """
        from django.core.cache import cache

        NAMESPACE = "acct"
        ACCOUNT_KEY = NAMESPACE + ":{}"
        SETTINGS_KEY = f"{NAMESPACE}:settings:%s"

        def account_key(account_id):
            \"\"\"The cache key of one account.\"\"\"
            return f"{NAMESPACE}:{account_id}"

        class Accounts:
            KEY = "acct:%s"

            def key_for(self, account_id):
                return self.KEY % account_id

            def drop(self, account_id):
                cache.delete(self.key_for(account_id))
                cache.delete(Accounts.KEY % account_id)

        def drop(account_id, key):
            cache.delete(account_key(account_id))
            cache.delete(ACCOUNT_KEY.format(account_id))
            cache.delete(SETTINGS_KEY % account_id)
            first = ACCOUNT_KEY.format(account_id)
            second = first
            cache.delete(second)
            cache.delete(key)
            again = again + ":x"
            cache.delete(again)
        """
    )
    assert families == {
        "self.key_for(account_id)": "acct:{}",
        "Accounts.KEY % account_id": "acct:{}",
        "account_key(account_id)": "acct:{}",
        "ACCOUNT_KEY.format(account_id)": "acct:{}",
        "SETTINGS_KEY % account_id": "acct:settings:{}",
        "second": "acct:{}",
        "key": None,  # a parameter: unknown
        "again": "{}:x",  # refers to itself: its start stays unknown
    }


def test_helper_defined_before_its_constant() -> None:
    families = module_families(
        """
        import redis

        r = redis.Redis()

        def team_key(team_id):
            return TEAM_KEY.format(team_id)

        TEAM_KEY = "team:{}"

        def drop(team_id):
            r.delete(team_key(team_id))
        """
    )
    assert families == {"team_key(team_id)": "team:{}"}


# -- pairing across files ---------------------------------------------------------------


def cli_findings_with_messages(path: Path, *flags: str) -> dict[tuple[Path, int, str], str]:
    document = cli_json(str(path), *flags)
    assert document["errors"] == []
    return {
        (Path(d["path"]).resolve(), d["line"], d["code"]): d["message"]
        for d in document["diagnostics"]
    }


def cl403_sites(*paths: Path) -> list[tuple[str, int, str]]:
    """(file name, line, message) of every CL403 that ``cachelint check`` reports."""
    document = cli_json(*map(str, paths))
    return sorted((Path(d["path"]).name, d["line"], d["message"])
                  for d in document["diagnostics"] if d["code"] == "CL403")


def pairings(*paths: Path) -> dict[tuple[str, int], str]:
    """Each CL403 delete, as (file name, line), with the refill its message names
    (``views.py:10``)."""
    found = {}
    for name, line, message in cl403_sites(*paths):
        refill = re.search(r"blind refill at (.+?):(\d+):", message)
        assert refill is not None, message
        found[(name, line)] = f"{Path(refill.group(1)).name}:{refill.group(2)}"
    return found


def test_check_pairs_deletes_with_refills_in_other_files() -> None:
    found = cli_findings_with_messages(PROJECT)
    assert set(found) == PROJECT_FINDINGS
    views = str(PROJECT / "views.py")
    assert f"blind refill at {views}:13:" in found[(SIGNALS, 11, "CL403")]
    assert "`shopitem:{}`" in found[(SIGNALS, 11, "CL403")]
    assert f"blind refill at {views}:22:" in found[(SIGNALS, 12, "CL403")]
    assert f"blind refill at {TASKS}:15:" in found[(TASKS, 20, "CL403")]


def test_selecting_only_cl403_still_pairs() -> None:
    # The refills are CL101 sites: pairing needs them even when CL101 is not reported.
    found = set(cli_findings_with_messages(PROJECT, "--select", "CL403"))
    assert found == {f for f in PROJECT_FINDINGS if f[2] == "CL403"}


def test_flake8_pairs_within_one_file_only() -> None:
    files = sorted(PROJECT.glob("*.py"))
    found = {(Path(p), line, code) for p, line, code in flake8_findings(files)}
    assert found == PROJECT_FINDINGS - CROSS_FILE


def test_checking_one_file_does_not_see_the_other_files() -> None:
    assert set(cli_findings_with_messages(SIGNALS)) == set()
    assert set(cli_findings_with_messages(TASKS)) == {(TASKS, 15, "CL101"), (TASKS, 20, "CL403")}


def test_parallel_workers_pair_the_same_way() -> None:
    assert set(cli_findings_with_messages(PROJECT, "--jobs", "3")) == PROJECT_FINDINGS


def test_cached_results_re_pair_when_another_file_changes(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(PROJECT, project)
    cache_dir = tmp_path / "cache"

    def run() -> set[tuple[str, int, str]]:
        document = cli_json(str(project), "--cache-dir", str(cache_dir))
        assert document["errors"] == []
        return {(Path(d["path"]).name, d["line"], d["code"]) for d in document["diagnostics"]}

    first = run()
    assert ("signals.py", 11, "CL403") in first
    assert run() == first  # served from the cache, same pairing
    views = project / "views.py"
    views.write_text(views.read_text().replace(
        '    cache.set(f"shopitem:{item_id}", payload, 300)\n',
        '    set_if_newer(cache, f"shopitem:{item_id}", payload, version=item.version)\n',
    ).replace(
        "from django.core.cache import cache\n",
        "from django.core.cache import cache\n\nfrom cachelint.runtime import set_if_newer\n",
    ))
    after = run()
    assert ("signals.py", 11, "CL403") not in after  # signals.py itself is unchanged
    assert ("signals.py", 12, "CL403") in after
    assert not any(name == "views.py" and line in {13, 15} for name, line, _ in after)


def test_noqa_on_a_delete_keeps_it_out_of_pairing() -> None:
    found = cli_findings_with_messages(PROJECT)
    line = next(i for i, text in enumerate(SIGNALS.read_text().splitlines(), 1)
                if "noqa: CL403" in text)
    assert (SIGNALS, line, "CL403") not in found


def test_delete_many_pairs_each_literal_key_once(tmp_path: Path) -> None:
    (tmp_path / "views.py").write_text(
        "from django.core.cache import cache\n"
        "from shop.models import Product\n"
        "\n"
        "def product_card(pk):\n"
        "    product = Product.objects.get(pk=pk)\n"
        "    cache.set(f'card:{pk}', product.name)\n"
        "    cache.set(f'price:{pk}', str(product.price))\n"
    )
    (tmp_path / "signals.py").write_text(
        "from django.core.cache import cache\n"
        "\n"
        "def forget(pks):\n"
        "    cache.delete_many([f'card:{pk}' for pk in pks])\n"
        "    cache.delete_many([f'price:{pk}', f'card:{pk}'] for pk in pks)\n"
        "    cache.delete_many([f'card:{pks[0]}', f'price:{pks[0]}'])\n"
    )
    found = [(name, line) for name, line, _ in cl403_sites(tmp_path)]
    assert found == [("signals.py", 4), ("signals.py", 6)]


def test_key_helpers_imported_from_another_module_pair(tmp_path: Path) -> None:
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "keys.py").write_text(
        "class CacheKeys:\n"
        "    @staticmethod\n"
        "    def basket(pk):\n"
        "        return build('basket', pk)\n"
        "\n"
        "def price_cache_key(pk):\n"
        "    return compose('price', pk)\n"
    )
    (package / "views.py").write_text(
        "from django.core.cache import cache\n"
        "from shop.keys import CacheKeys, price_cache_key\n"
        "from shop.models import Basket, Price\n"
        "\n"
        "def basket_view(pk):\n"
        "    basket = Basket.objects.get(pk=pk)\n"
        "    cache.set(CacheKeys.basket(pk), basket.summary())\n"
        "\n"
        "def price_view(pk):\n"
        "    key = price_cache_key(pk)\n"
        "    cache.set(key, str(Price.objects.get(pk=pk).amount))\n"
    )
    (package / "signals.py").write_text(
        "from django.core.cache import cache\n"
        "from . import keys\n"
        "from .keys import CacheKeys as Keys\n"
        "\n"
        "def on_basket_saved(sender, instance, **kwargs):\n"
        "    cache.delete(Keys.basket(instance.pk))\n"
        "    cache.delete(keys.price_cache_key(instance.pk))\n"
        "    cache.delete(other_key(instance.pk))\n"
    )
    assert pairings(tmp_path) == {("signals.py", 6): "views.py:7", ("signals.py", 7): "views.py:11"}


def test_imported_key_helper_templates_pair_with_spelled_out_keys(tmp_path: Path) -> None:
    """``cache_keys.page_key(slug)`` in a view and ``"cms:page:" + slug`` in a task are one
    family: ``cachelint check DIR`` reads the helper's template from its module.  A helper
    whose name two modules define with two templates is ambiguous and resolves to neither."""
    (tmp_path / "cache_keys.py").write_text(
        "def page_key(slug):\n"
        "    return f\"cms:page:{slug}\"\n"
        "\n"
        "def greeting(name):\n"
        "    return f\"hello {name}\"\n"
    )
    for app, template in (("blog", "blog:post:{pk}"), ("shop", "shop:item:{pk}")):
        (tmp_path / app).mkdir()
        (tmp_path / app / "keys.py").write_text(f"def item_key(pk):\n    return f\"{template}\"\n")
    (tmp_path / "views.py").write_text(
        "from django.core.cache import cache\n"
        "from cache_keys import page_key\n"
        "from keys import item_key\n"
        "from cms.models import Page, Item\n"
        "\n"
        "def page(slug):\n"
        "    html = cache.get(page_key(slug))\n"
        "    if html is None:\n"
        "        html = Page.objects.get(slug=slug).render()\n"
        "        cache.set(page_key(slug), html)\n"
        "    return html\n"
        "\n"
        "def item(pk):\n"
        "    cache.set(item_key(pk), Item.objects.get(pk=pk).title)\n"
    )
    (tmp_path / "tasks.py").write_text(
        "from django.core.cache import cache\n"
        "\n"
        "def publish(page):\n"
        "    cache.delete(\"cms:page:\" + page.slug)\n"
        "    cache.delete(f\"blog:post:{page.pk}\")\n"
        "    cache.delete(f\"hello {page.pk}\")\n"
    )
    assert pairings(tmp_path) == {("tasks.py", 4): "views.py:10"}
    # Without the helper's module in the run (as under flake8), the template is unknown.
    assert cl403_sites(tmp_path / "views.py", tmp_path / "tasks.py") == []


def test_key_methods_and_constants_pair_across_modules(tmp_path: Path) -> None:
    """A specifically named key method or attribute pairs on an object of unknown class
    (generic names such as ``get_cache_key`` do not); an imported UPPER_CASE key
    constant pairs by the module that defines it."""
    (tmp_path / "glossary.py").write_text(
        "from django.core.cache import cache\n"
        "from terms.constants import STATUS_KEY\n"
        "from terms.models import Status, Term\n"
        "\n"
        "def glossary_tsv(project, lang):\n"
        "    key = project.glossary_tsv_cache_key(lang)\n"
        "    rows = list(Term.objects.filter(project=project, lang=lang))\n"
        "    cache.set(key, rows)\n"
        "    cache.set(project.get_cache_key(lang), rows)\n"
        "    cache.set(project.max_depth_cache_key, Term.objects.count())\n"
        "    cache.set(STATUS_KEY, Status.objects.latest('pk').name)\n"
        "    return rows\n"
    )
    (tmp_path / "models.py").write_text(
        "from django.core.cache import cache\n"
        "from terms import constants\n"
        "from terms.constants import STATUS_KEY\n"
        "\n"
        "class Project:\n"
        "    def glossary_tsv_cache_key(self, lang):\n"
        "        return build_key('glossary', self.pk, lang)\n"
        "\n"
        "    def invalidate(self, lang, other):\n"
        "        cache.delete(self.glossary_tsv_cache_key(lang))\n"
        "        cache.delete(other.get_cache_key(lang))\n"
        "        cache.delete(other.objects.max_depth_cache_key)\n"
        "        cache.delete(STATUS_KEY)\n"
        "        cache.delete(constants.OTHER_KEY)\n"
    )
    found = [(name, line) for name, line, _ in cl403_sites(tmp_path)]
    assert found == [("models.py", 10), ("models.py", 12), ("models.py", 13)]


def test_a_region_imported_from_another_module_pairs(tmp_path: Path) -> None:
    """``forms_admin.py`` names no cache at all, only ``templates_region`` imported from
    the module that configures it: the cheap pre-check must still let it through."""
    (tmp_path / "form_templates.py").write_text(
        "from dogpile.cache import make_region\n"
        "from forms.models import FormTemplate\n"
        "\n"
        "templates_region = make_region().configure('dogpile.cache.redis')\n"
        "\n"
        "def refresh_form_templates():\n"
        "    for template in FormTemplate.objects.filter(active=True):\n"
        "        templates_region.set('form_template:%s' % template.code, template.layout)\n"
    )
    (tmp_path / "forms_admin.py").write_text(
        "from form_templates import templates_region\n"
        "\n"
        "def deactivate_templates(modeladmin, request, queryset):\n"
        "    codes = list(queryset.values_list('code', flat=True))\n"
        "    queryset.update(active=False)\n"
        "    for code in codes:\n"
        "        templates_region.delete('form_template:{}'.format(code))\n"
    )
    assert pairings(tmp_path) == {("forms_admin.py", 7): "form_templates.py:8"}


def test_a_cache_wrapper_s_own_key_method_names_no_family(tmp_path: Path) -> None:
    """``CacheService._k(key)`` prefixes whatever key its callers hand it: its
    ``forget`` and ``get_or_load`` are not one family (``CacheKeys.basket`` is)."""
    (tmp_path / "services.py").write_text(
        "from django.core.cache import caches\n"
        "\n"
        "class CacheService:\n"
        "    def __init__(self, alias='default', prefix='svc'):\n"
        "        self._client = caches[alias]\n"
        "        self.prefix = prefix\n"
        "\n"
        "    def _k(self, key):\n"
        "        return f'{self.prefix}:{key}'\n"
        "\n"
        "    def get_or_load(self, key, loader):\n"
        "        full = self._k(key)\n"
        "        value = self._client.get(full)\n"
        "        if value is None:\n"
        "            value = loader()\n"
        "            self._client.set(full, value, 300)\n"
        "        return value\n"
        "\n"
        "    def forget(self, key):\n"
        "        self._client.delete(self._k(key))\n"
    )
    assert cl403_sites(tmp_path) == []


def test_helpers_imported_through_a_root_outside_the_checked_tree(tmp_path: Path) -> None:
    """``cachelint check podhost/`` from inside the package: ``from podhost.cache_keys
    import creator_key`` names a root the tree does not show, and still resolves to
    ``cache_keys.py``.  A library's module of the same name (``django.core.cache.utils``)
    never does."""
    (tmp_path / "cache_keys.py").write_text(
        "def creator_key(creator_id):\n"
        "    return f'creator:{creator_id}'\n"
        "\n"
        "def make_template_fragment_key(name, args):\n"
        "    return f'fragment:{name}'\n"
    )
    (tmp_path / "utils.py").write_text(
        "def make_template_fragment_key(name, args):\n"
        "    return f'fragment:{name}'\n"
    )
    (tmp_path / "creator_cards.py").write_text(
        "from django.core.cache import cache\n"
        "from podhost.cache_keys import creator_key\n"
        "from podhost.creators.models import Creator\n"
        "\n"
        "def creator_card(creator_id):\n"
        "    card = Creator.objects.get(pk=creator_id).card()\n"
        "    cache.set(creator_key(creator_id), card)\n"
        "    cache.set('fragment:' + str(creator_id), card)\n"
    )
    (tmp_path / "creator_admin.py").write_text(
        "from django.core.cache import cache\n"
        "from django.core.cache.utils import make_template_fragment_key\n"
        "\n"
        "def verify(ids):\n"
        "    for pk in ids:\n"
        "        cache.delete(f'creator:{pk}')\n"
        "        cache.delete(make_template_fragment_key('card', (pk,)))\n"
    )
    assert pairings(tmp_path) == {("creator_admin.py", 6): "creator_cards.py:7"}
