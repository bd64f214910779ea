//! Python objects <-> `serde_json::Value`, directly (no JSON text in between): the one
//! type mapping between Python and the engine's binding surface.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Where in the input a value could not be converted, and why.
pub struct ConvertError {
    pub field: String,
    pub message: String,
}

impl ConvertError {
    fn at(mut self, segment: &str) -> Self {
        self.field = if self.field.is_empty() {
            segment.to_owned()
        } else if self.field.starts_with('[') {
            format!("{segment}{}", self.field)
        } else {
            format!("{segment}.{}", self.field)
        };
        self
    }
}

fn fail(message: impl Into<String>) -> ConvertError {
    ConvertError {
        field: String::new(),
        message: message.into(),
    }
}

pub fn to_json(obj: &Bound<'_, PyAny>) -> Result<Value, ConvertError> {
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_cow()
            .map(|s| Value::String(s.into_owned()))
            .map_err(|e| fail(e.to_string()));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::with_capacity(dict.len());
        for (key, value) in dict.iter() {
            let key = match key.cast::<PyString>() {
                Ok(k) => k.to_cow().map_err(|e| fail(e.to_string()))?.into_owned(),
                Err(_) => return Err(fail(format!("keys must be strings, not {key}"))),
            };
            let converted = to_json(&value).map_err(|e| e.at(&key))?;
            map.insert(key, converted);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        let mut items = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            items.push(to_json(&item).map_err(|e| e.at(&format!("[{i}]")))?);
        }
        return Ok(Value::Array(items));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Err(fail("integer out of range"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| fail("must be a finite number"));
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        let mut items = Vec::with_capacity(tuple.len());
        for (i, item) in tuple.iter().enumerate() {
            items.push(to_json(&item).map_err(|e| e.at(&format!("[{i}]")))?);
        }
        return Ok(Value::Array(items));
    }
    // Paths (`pathlib.Path`) as their string; our own response objects (and pydantic
    // models) may be passed back as messages.
    if let Ok(true) = obj.hasattr("__fspath__") {
        let path = obj
            .call_method0("__fspath__")
            .map_err(|e| fail(e.to_string()))?;
        return to_json(&path);
    }
    for method in ["to_dict", "model_dump"] {
        if let Ok(true) = obj.hasattr(method) {
            let dict = obj.call_method0(method).map_err(|e| fail(e.to_string()))?;
            return to_json(&dict);
        }
    }
    let type_name = obj
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string());
    Err(fail(format!("cannot send a value of type {type_name}")))
}

pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// An argument for the engine (`None` is JSON `null`); a value that has no JSON form is
/// a `bad_request` naming where it sits.
pub fn argument(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
    match obj {
        None => Ok(Value::Null),
        Some(obj) => to_json(obj).map_err(|e| {
            crate::errors::to_pyerr(&switchyard::Error::bad_request(e.field, e.message))
        }),
    }
}
