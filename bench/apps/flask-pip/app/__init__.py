from flask import Flask, jsonify, render_template, request

app = Flask(__name__)
notes = []


@app.get("/healthz")
def healthz():
    return jsonify(ok=True)


@app.get("/")
def index():
    return render_template("index.html", notes=notes)


@app.post("/notes")
def add_note():
    text = (request.get_json(silent=True) or {}).get("text", "").strip()
    if not text:
        return jsonify(error="text is required"), 400
    notes.append(text)
    return jsonify(id=len(notes), text=text), 201
