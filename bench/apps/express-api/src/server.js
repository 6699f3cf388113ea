const express = require('express');
const compression = require('compression');
const cors = require('cors');
const helmet = require('helmet');
const morgan = require('morgan');
const { z } = require('zod');
const { todos } = require('./todos');

const app = express();
app.use(helmet());
app.use(cors());
app.use(compression());
app.use(express.json());
app.use(morgan('tiny'));

const Todo = z.object({ title: z.string().min(1), done: z.boolean().default(false) });

app.get('/healthz', (req, res) => res.json({ ok: true }));
app.get('/todos', (req, res) => res.json(todos.list()));
app.post('/todos', (req, res) => {
  const parsed = Todo.safeParse(req.body);
  if (!parsed.success) return res.status(400).json(parsed.error.flatten());
  res.status(201).json(todos.add(parsed.data));
});

const port = Number(process.env.PORT || 3000);
app.listen(port, () => console.log(`listening on ${port}`));
