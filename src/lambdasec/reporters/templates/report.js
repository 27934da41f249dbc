// The HTML report's findings table (reporters/html.py hashes this script into the Content-Security-Policy).
// It reads the findings from the JSON data element and writes them with textContent only: it never parses markup.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("data").textContent);
  const findings = data.findings;
  const rank = {};
  data.severities.forEach(function (s, i) { rank[s] = data.severities.length - i; });
  const body = document.getElementById("findings-body");
  const selects = {
    severity: document.getElementById("filter-severity"),
    category: document.getElementById("filter-category"),
    rule: document.getElementById("filter-rule"),
    fn: document.getElementById("filter-function"),
  };
  const functionIndex = new Map(data.functions.map(function (name, i) { return [name, String(i)]; }));
  const rows = [];
  let sortKey = "";
  let sortDir = 1;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function option(select, value, label) {
    const node = el("option", "", label);
    node.value = value;
    select.appendChild(node);
  }

  function countBy(key) {
    const counts = new Map();
    findings.forEach(function (f) { const k = key(f); counts.set(k, (counts.get(k) || 0) + 1); });
    return counts;
  }

  // Filter choices: only values that occur, with their counts.
  const bySeverity = countBy(function (f) { return f.severity; });
  data.severities.forEach(function (s) {
    if (bySeverity.has(s)) { option(selects.severity, s, s.charAt(0).toUpperCase() + s.slice(1) + " (" + bySeverity.get(s) + ")"); }
  });
  const byCategory = countBy(function (f) { return f.category; });
  Object.keys(data.categories).forEach(function (c) {
    option(selects.category, c, data.categories[c] + " (" + (byCategory.get(c) || 0) + ")");
  });
  const byRule = countBy(function (f) { return f.rule_id; });
  Array.from(byRule.keys()).sort().forEach(function (code) {
    const rule = data.rules[code];
    option(selects.rule, code, code + " " + (rule ? rule.title : "") + " (" + byRule.get(code) + ")");
  });
  const byFunction = new Map();
  let withoutFunction = 0;
  findings.forEach(function (f) {
    if (!f.functions.length) { withoutFunction += 1; }
    f.functions.forEach(function (name) { byFunction.set(name, (byFunction.get(name) || 0) + 1); });
  });
  data.functions.forEach(function (name, i) { option(selects.fn, String(i), name + " (" + byFunction.get(name) + ")"); });
  if (withoutFunction) { option(selects.fn, "-", "No function (" + withoutFunction + ")"); }

  function locationKey(f) {
    return [f.location.file || f.where, f.location.line || 0];
  }

  const sorters = {
    severity: function (f) { return [-rank[f.severity]]; },
    rule: function (f) { return [f.rule_id]; },
    category: function (f) { return [f.category]; },
    resource: function (f) { return [f.resource.id]; },
    "function": function (f) { return [f.functions.join(", ")]; },
    location: locationKey,
  };

  function compare(a, b) {
    for (let i = 0; i < a.length; i += 1) {
      if (a[i] < b[i]) { return -1; }
      if (a[i] > b[i]) { return 1; }
    }
    return 0;
  }

  function detailContent(f) {
    const rule = data.rules[f.rule_id] || {};
    const box = el("div", "detail-box");
    function section(title) { box.appendChild(el("h4", "", title)); }
    section("What was found");
    box.appendChild(el("p", "", f.message));
    if (rule.rationale) {
      section("Why it matters");
      box.appendChild(el("p", "", rule.rationale));
    }
    if (f.remediation) {
      section("How to fix it");
      box.appendChild(el("p", "", f.remediation));
    }
    const snippets = rule.snippets || {};
    Object.keys(snippets).forEach(function (kind) {
      const block = el("details", "snippet");
      block.appendChild(el("summary", "", "Example fix: " + (data.snippet_names[kind] || kind)));
      const pre = el("pre");
      pre.appendChild(el("code", "", snippets[kind]));
      block.appendChild(pre);
      box.appendChild(block);
    });
    section("Where");
    const where = el("dl");
    function fact(list, name, value) {
      list.appendChild(el("dt", "", name));
      list.appendChild(el("dd", "", typeof value === "string" ? value : JSON.stringify(value, null, 2)));
    }
    fact(where, "Location", f.where);
    if (f.location.path) { fact(where, "Path in the file", f.location.path); }
    fact(where, "Resource", f.resource.id + " (" + f.resource.type + ")");
    if (f.functions.length) { fact(where, "Functions", f.functions.join(", ")); }
    if (f.priority) { fact(where, "Attack-path priority", f.priority.level + " (score " + f.priority.score + ")"); }
    fact(where, "Confidence", f.confidence);
    fact(where, "Fingerprint", f.fingerprint);
    box.appendChild(where);
    const keys = Object.keys(f.evidence || {});
    if (keys.length) {
      section("Evidence");
      const evidence = el("dl");
      keys.forEach(function (k) { fact(evidence, k, f.evidence[k]); });
      box.appendChild(evidence);
    }
    const link = el("a", "", "About " + f.rule_id + " (" + f.slug + ")");
    link.href = "#rule-" + encodeURIComponent(f.rule_id);
    const more = el("p");
    more.appendChild(link);
    box.appendChild(more);
    return box;
  }

  function toggle(row) {
    row.open = !row.open;
    row.button.setAttribute("aria-expanded", String(row.open));
    row.button.textContent = row.open ? "\u2212" : "+";
    if (row.open && !row.detail.firstChild.firstChild) {
      row.detail.firstChild.appendChild(detailContent(row.finding));
    }
    row.detail.hidden = !row.open || row.main.hidden;
  }

  findings.forEach(function (f, i) {
    const main = el("tr", "finding");
    main.dataset.index = String(i);
    const cell = el("td");
    const button = el("button", "toggle", "+");
    button.type = "button";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "detail-" + i);
    button.setAttribute("aria-label", "Details of " + f.rule_id + " on " + f.resource.id);
    cell.appendChild(button);
    main.appendChild(cell);
    const severity = el("td", "nowrap");
    severity.appendChild(el("span", "badge sev-" + f.severity, f.severity.charAt(0).toUpperCase() + f.severity.slice(1)));
    main.appendChild(severity);
    const ruleCell = el("td");
    ruleCell.appendChild(el("span", "code", f.rule_id));
    ruleCell.appendChild(document.createTextNode(" " + f.title));
    main.appendChild(ruleCell);
    main.appendChild(el("td", "nowrap", f.category));
    main.appendChild(el("td", "id resource", f.resource.id));
    main.appendChild(el("td", "id", f.functions.join(", ")));
    main.appendChild(el("td", "where", f.where));
    const detail = el("tr", "detail");
    detail.id = "detail-" + i;
    detail.hidden = true;
    const holder = el("td");
    holder.colSpan = 7;
    detail.appendChild(holder);
    const row = { finding: f, index: i, main: main, detail: detail, button: button, open: false };
    button.addEventListener("click", function () { toggle(row); });
    rows.push(row);
  });

  function matches(f) {
    const fn = selects.fn.value;
    return (!selects.severity.value || f.severity === selects.severity.value) &&
      (!selects.category.value || f.category === selects.category.value) &&
      (!selects.rule.value || f.rule_id === selects.rule.value) &&
      (!fn || (fn === "-" ? f.functions.length === 0 :
        f.functions.some(function (name) { return functionIndex.get(name) === fn; })));
  }

  // Rows on screen at once: laying out tens of thousands of rows takes the browser seconds.
  const PAGE = 500;
  let limit = PAGE;

  function apply() {
    let matched = 0;
    ordered.forEach(function (row) {
      const match = matches(row.finding);
      const visible = match && matched < limit;
      if (match) { matched += 1; }
      row.main.hidden = !visible;
      row.detail.hidden = !visible || !row.open;
    });
    const shown = Math.min(matched, limit);
    const noun = function (n) { return n + " " + (n === 1 ? data.noun : data.noun + "s"); };
    let text = noun(findings.length);
    if (shown < matched) {
      text = "Showing the first " + shown + " of " + matched + " matching " + (matched === 1 ? data.noun : data.noun + "s") +
        " (" + findings.length + " in all)";
    } else if (matched !== findings.length) {
      text = "Showing " + matched + " of " + noun(findings.length);
    }
    document.getElementById("shown").textContent = text;
    moreButton.hidden = shown >= matched;
    document.getElementById("none-shown").hidden = matched !== 0 || findings.length === 0;
  }

  function refilter() {
    limit = PAGE;
    apply();
  }

  let ordered = rows;

  function order() {
    ordered = rows.slice();
    if (sortKey) {
      const key = sorters[sortKey];
      ordered.sort(function (a, b) {
        return sortDir * compare(key(a.finding), key(b.finding)) || a.index - b.index;
      });
    }
    const fragment = document.createDocumentFragment();
    ordered.forEach(function (row) { fragment.appendChild(row.main); fragment.appendChild(row.detail); });
    body.appendChild(fragment);
    apply();
  }

  document.querySelectorAll("th button[data-sort]").forEach(function (button) {
    button.addEventListener("click", function () {
      const key = button.dataset.sort;
      sortDir = key === sortKey ? -sortDir : 1;
      sortKey = key;
      document.querySelectorAll("th[aria-sort]").forEach(function (th) { th.setAttribute("aria-sort", "none"); });
      // Severity sorts most severe first: "descending" severity.
      const ascending = key === "severity" ? sortDir < 0 : sortDir > 0;
      button.parentElement.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      order();
    });
  });

  const moreButton = document.getElementById("show-more");
  moreButton.textContent = "Show " + PAGE + " more";
  moreButton.addEventListener("click", function () {
    limit += PAGE;
    apply();
  });
  Object.keys(selects).forEach(function (k) { selects[k].addEventListener("change", refilter); });
  document.getElementById("filter-reset").addEventListener("click", function (event) {
    event.preventDefault();
    Object.keys(selects).forEach(function (k) { selects[k].value = ""; });
    refilter();
  });

  function focusTable() {
    refilter();
    document.getElementById("findings").scrollIntoView();
  }
  document.querySelectorAll("a[data-severity]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      Object.keys(selects).forEach(function (k) { selects[k].value = ""; });
      const wanted = link.dataset.severity;
      selects.severity.value = bySeverity.has(wanted) ? wanted : "";
      focusTable();
    });
  });
  document.querySelectorAll("button.show-function").forEach(function (button) {
    button.addEventListener("click", function () {
      Object.keys(selects).forEach(function (k) { selects[k].value = ""; });
      selects.fn.value = functionIndex.get(button.dataset.function) || "";
      focusTable();
    });
  });

  order();
})();
