'use strict';

const express = require('express');

const PORT = process.env.PORT || 8080;
const HOST = '0.0.0.0';

const app = express();
app.use(express.json());

app.get('/', (req, res) => {
  res.send('Hello World');
});

// A small JSON API: items kept in memory.
const items = [];
app.get('/api/items', (req, res) => res.json(items));
app.post('/api/items', (req, res) => {
  const item = { id: items.length + 1, name: String(req.body.name || '') };
  items.push(item);
  res.status(201).json(item);
});

app.listen(PORT, HOST, () => {
  console.log(`Running on http://${HOST}:${PORT}`);
});
